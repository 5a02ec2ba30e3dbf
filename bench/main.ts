/**
 * `npm run bench`: runs each section in turn and prints its table (--json: one JSON array).
 * Add a section by adding its name and function to SECTIONS.
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

/** Section name -> the function that measures it (run in this order). */
const SECTIONS: Record<string, () => Promise<BenchSection> | BenchSection> = {
  'evaluate': evaluateSection,
  'autodiff': autodiffSection,
  'hvp-memory': hvpMemorySection,
  'per-example': perExampleSection,
  'hessian': hessianSection,
  'hessian-small-cnn': smallCnnHessianSection,
  'saliency': saliencySection,
  'safety': safetySection,
  'zoo': zooSection,
  'gate': gateSection,
  'models': modelsSection,
  'weights': weightsSection,
  'reliability': reliabilitySection,
};

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const results: BenchSection[] = [];
  const unknown = only.filter((name) => !(name in SECTIONS));
  if (unknown.length > 0) throw new Error(`unknown bench section(s) ${unknown.join(', ')}; known: ${Object.keys(SECTIONS).join(', ')}`);
  for (const [name, run] of Object.entries(SECTIONS)) {
    if (only.length > 0 && !only.includes(name)) continue;
    const section = await run();
    results.push(section);
    if (!json) console.log(`${formatSection(section)}\n`);
  }
  if (json) console.log(JSON.stringify(results));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
