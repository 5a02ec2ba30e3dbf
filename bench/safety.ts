/**
 * The safety section of `npm run bench`: the VNN-COMP 2021 mnistfc 256x2 properties (eps 0.03
 * and 0.05) through the safety analyzer with a short budget each (SAFETY_BENCH_TIMEOUT seconds,
 * default 5; the competition allowed 120). Reports verdicts, what decided them and the time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTestModel, testData } from '../test/helpers/test-data.js';
import { validateParams } from '../analyzers/params.js';
import { safetyAnalyzer, type SafetyParams } from '../analyzers/safety/index.js';
import type { BenchSection } from './section.js';

const DIR = testData('vnncomp2021/mnistfc');

export async function safetySection(): Promise<BenchSection> {
  const timeout = Number(process.env.SAFETY_BENCH_TIMEOUT ?? 5);
  const model = loadTestModel('vnncomp2021/mnistfc/mnist-net_256x2.onnx');
  const rows: BenchSection['rows'] = [];
  const tally: Record<string, number> = {};
  for (const eps of ['0.03', '0.05']) {
    for (let i = 0; i < 15; i++) {
      const name = `prop_${i}_${eps}`;
      const params = validateParams(safetyAnalyzer.params, { vnnlib: readFileSync(join(DIR, `${name}.vnnlib`), 'utf8'), timeout }) as SafetyParams;
      const t0 = performance.now();
      const r = await safetyAnalyzer.run({ model, dataset: null, params, progress: () => undefined, signal: new AbortController().signal });
      const c = r.checks[0]!;
      tally[r.status] = (tally[r.status] ?? 0) + 1;
      rows.push({
        property: name,
        status: r.status,
        method: c.method,
        ms: Math.round(performance.now() - t0),
        domains: c.domains,
        'lower bound': c.lowerBound === null ? '' : Number(c.lowerBound.toFixed(4)),
        'search best': c.searchBest === null ? '' : Number(c.searchBest.toFixed(4)),
      });
    }
  }
  return {
    title: `safety: VNN-COMP 2021 mnistfc 256x2, ${timeout} s budget per property`,
    rows,
    notes: [Object.entries(tally).map(([k, v]) => `${k}: ${v}`).join(', ')],
  };
}
