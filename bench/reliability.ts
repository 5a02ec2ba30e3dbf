/**
 * `npm run bench -- reliability`: the full reliability suite of issue 24 (test/reliability/):
 * >= 1,000 fuzz cases, kill -9 rounds of 100 jobs, cheap-read latency under two Hessians,
 * security probes. Regenerates docs/RELIABILITY.md from the run. About 10-15 minutes on 2 cores.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchSection } from './section.js';
import { PROJECT_ROOT } from '../test/helpers/test-data.js';
import { runFuzzSuite } from '../test/reliability/fuzzSuite.js';
import { runCrashSuite } from '../test/reliability/crash.js';
import { runLoad } from '../test/reliability/load.js';
import { runProbes } from '../test/reliability/probes.js';
import { renderReliability, fuzzRows, crashRows, type SuiteRun } from '../test/reliability/report.js';

export async function reliabilitySection(): Promise<BenchSection> {
  const fuzz = await runFuzzSuite({ perClass: 66, counts: { 'csv-long-line': 3, 'npz-zip-bomb': 30 }, longLineBytes: 50e6 });
  const crash = await runCrashSuite({ rounds: 3, jobsPerRound: 100, jobMs: 100 });
  const load = await runLoad({ concurrency: 8, phaseMs: 10_000, hessianParams: { topK: 5, compute: ['top', 'trace'], maxSamples: 100 } });
  const probes = await runProbes();
  const run: SuiteRun = { date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC', machine: `${os.cpus().length} CPU cores, node ${process.version}`, fuzz, crash, load, probes };
  writeFileSync(path.join(PROJECT_ROOT, 'docs', 'RELIABILITY.md'), renderReliability(run));
  return {
    title: 'Reliability (issue 24): fuzz, kill -9, load, probes -> docs/RELIABILITY.md',
    rows: fuzzRows(fuzz).map(({ sends: _s, ...r }) => r),
    notes: [
      ...crashRows(crash).map((r) => JSON.stringify(r)),
      ...load.latency.map((r) => `${r.phase}: p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms over ${r.requests} reads`),
      `compute once: ${JSON.stringify(load.computeOnce)}`,
      `probes: ${probes.filter((p) => p.ok).length}/${probes.length} as expected; failing: ${probes.filter((p) => !p.ok).map((p) => p.probe).join('; ') || 'none'}`,
    ],
  };
}
