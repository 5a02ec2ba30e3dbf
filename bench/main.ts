/**
 * `npm run bench`: runs each section in turn and prints its table (--json: one JSON array).
 * Add a section by appending its function to SECTIONS.
 */
import type { BenchSection } from './section.js';
import { formatSection } from './section.js';
import { evaluateSection } from './evaluate-section.js';
import { autodiffSection, hvpMemorySection, perExampleSection } from './autodiff-report.js';
import { hessianSection, smallCnnHessianSection } from './hessian.js';
import { zooSection } from './zoo.js';
import { safetySection } from './safety.js';
import { saliencySection } from './saliency.js';
import { gateSection } from './gate.js';
import { modelsSection } from './models.js';
import { weightsSection } from './weights.js';
import { reliabilitySection } from './reliability.js';

const SECTIONS: { name: string; run: () => Promise<BenchSection> | BenchSection }[] = [
  { name: 'evaluate', run: evaluateSection },
  { name: 'autodiff', run: autodiffSection },
  { name: 'hvp-memory', run: hvpMemorySection },
  { name: 'per-example', run: perExampleSection },
  { name: 'hessian', run: hessianSection },
  { name: 'hessian-small-cnn', run: smallCnnHessianSection },
  { name: 'saliency', run: saliencySection },
  { name: 'safety', run: safetySection },
  { name: 'zoo', run: zooSection },
  { name: 'gate', run: gateSection },
  { name: 'models', run: modelsSection },
  { name: 'weights', run: weightsSection },
  { name: 'reliability', run: reliabilitySection },
];

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const results: BenchSection[] = [];
  for (const s of SECTIONS) {
    if (only.length > 0 && !only.includes(s.name)) continue;
    const section = await s.run();
    results.push(section);
    if (!json) console.log(`${formatSection(section)}\n`);
  }
  if (json) console.log(JSON.stringify(results));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
