/**
 * Runs a VNN-COMP instance list (csv rows `onnx,vnnlib,timeout`, paths relative to the csv) through
 * the safety analyzer, each instance with its own timeout (or --timeout S when smaller), and
 * prints per-instance verdicts, times, domains per second, a table per property family and the
 * VNN-COMP score (+10 a decided instance, -150 a wrong one). Every `sat` is re-checked here in a
 * fresh ORT session (a failure turns it into `unknown` with a message on stderr); `unsat` is
 * scored against --expected when given (rows onnx,vnnlib,sat|unsat, e.g. derived from the
 * published VNN-COMP 2021 results, github.com/stanleybak/vnncomp2021_results results_csv/).
 *
 *   npm run vnncomp -- test/data/vnncomp2021/acasxu/acasxu_instances.csv [--timeout S] [--every K]
 *       [--only SUBSTRING] [--expected FILE.csv (onnx,vnnlib,sat|unsat)] [--threads N] [--json]
 *
 * --every K runs every K-th instance (a spread sample); --only keeps rows containing SUBSTRING;
 * --threads N (default: the machine's cores) threads for the batched bounds (dense-pool.ts).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { loaded } from '../test/helpers/tiny-models.js';
import { freshForward } from '../test/helpers/safety-run.js';
import { parseVnnlib, satisfiesAll } from '../analyzers/safety/vnnlib.js';
import { validateParams } from '../analyzers/params.js';
import { safetyAnalyzer, type SafetyParams } from '../analyzers/safety/index.js';
import { vnncompScore, vnncompVerdict } from '../analyzers/safety/vnncomp.js';
import type { BenchSection } from './section.js';
import { formatSection } from './section.js';

export interface Instance {
  onnx: string;
  vnnlib: string;
  timeout: number;
}

export interface InstanceResult extends Instance {
  verdict: string;
  seconds: number;
  domains: number;
  domainsPerSecond: number | null;
  method: string;
}

export function readInstances(csv: string): Instance[] {
  const dir = path.dirname(csv);
  return readFileSync(csv, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map((l) => {
      const [onnx, vnnlib, timeout] = l.split(',').map((s) => s.trim());
      if (!onnx || !vnnlib || !(Number(timeout) > 0)) throw new Error(`${csv}: bad row "${l}" (want onnx,vnnlib,timeout)`);
      return { onnx: path.resolve(dir, onnx), vnnlib: path.resolve(dir, vnnlib), timeout: Number(timeout) };
    });
}

/** One instance through the analyzer (a fresh model load and ORT sessions each). */
export async function runInstance(inst: Instance, threads = 1): Promise<InstanceResult> {
  const model = loaded(new Uint8Array(readFileSync(inst.onnx)));
  const params = validateParams(safetyAnalyzer.params, { vnnlib: readFileSync(inst.vnnlib, 'utf8'), timeout: inst.timeout, threads }) as SafetyParams;
  const t0 = performance.now();
  const r = await safetyAnalyzer.run({ model, dataset: null, params, progress: () => undefined, signal: new AbortController().signal });
  const c = r.checks[0]!;
  let verdict = vnncompVerdict(r);
  if (verdict === 'sat') {
    // Re-run the counterexample in a session opened here (not the analyzer's): it must land in its disjunct.
    const cex = c.counterexample!;
    const dims = (model.ir.graph.inputs[0]!.shape ?? [cex.input.length]).map((v) => (typeof v === 'number' ? v : 1));
    const y = await freshForward(model.ir, cex.input, dims, model.bytes);
    const d = parseVnnlib(readFileSync(inst.vnnlib, 'utf8')).disjuncts[cex.disjunct!]!;
    const inside = cex.input.every((v, i) => v >= d.lo[i]! && v <= d.hi[i]!);
    if (!inside || !satisfiesAll(d, y)) {
      console.error(`${inst.onnx} ${inst.vnnlib}: the counterexample FAILED the fresh re-check; counted as unknown`);
      verdict = 'unknown';
    }
  }
  return {
    ...inst,
    verdict,
    seconds: (performance.now() - t0) / 1000,
    domains: c.domains,
    domainsPerSecond: c.domainsPerSecond,
    method: c.method,
  };
}

/** "acasxu prop_3"; robustness lists (prop_<i>_<eps>) group by eps: "mnistfc eps 0.03". */
function family(r: Instance): string {
  const bench = path.basename(path.dirname(r.vnnlib));
  const name = path.basename(r.vnnlib).replace(/\.vnnlib$/, '');
  const eps = /^prop_\d+_(\d*\.\d+)$/.exec(name);
  return eps ? `${bench} eps ${eps[1]}` : `${bench} ${name}`;
}

/** Per property family: decided counts, mean/max time, score. */
export function summarize(results: InstanceResult[], expected: Map<string, 'sat' | 'unsat'>): BenchSection {
  const key = (r: Instance) => `${path.basename(r.onnx)},${path.basename(r.vnnlib)}`;
  const fams = new Map<string, InstanceResult[]>();
  for (const r of results) fams.set(family(r), [...(fams.get(family(r)) ?? []), r]);
  const rows: BenchSection['rows'] = [];
  let score = 0;
  let wrong = 0;
  for (const [name, rs] of [...fams].sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))) {
    const count = (v: string) => rs.filter((r) => r.verdict === v).length;
    const times = rs.map((r) => r.seconds);
    const s = rs.reduce((t, r) => t + vnncompScore(r.verdict, expected.get(key(r)) ?? null), 0);
    const w = rs.filter((r) => vnncompScore(r.verdict, expected.get(key(r)) ?? null) < 0).length;
    score += s;
    wrong += w;
    const dps = rs.map((r) => r.domainsPerSecond).filter((v): v is number => v !== null);
    rows.push({
      family: name,
      instances: rs.length,
      'holds (unsat)': count('unsat'),
      'violated (sat)': count('sat'),
      unknown: rs.length - count('unsat') - count('sat'),
      'mean s': Number((times.reduce((a, b) => a + b, 0) / rs.length).toFixed(2)),
      'max s': Number(Math.max(...times).toFixed(2)),
      'domains/s': dps.length ? Math.round(dps.reduce((a, b) => a + b, 0) / dps.length) : '',
      score: s,
    });
  }
  return {
    title: 'VNN-COMP instances',
    rows,
    notes: [`score ${score} (${wrong} wrong${expected.size ? '' : '; no --expected file: unsat verdicts are not checked against published ones'})`],
  };
}

function readExpected(file: string | undefined): Map<string, 'sat' | 'unsat'> {
  const m = new Map<string, 'sat' | 'unsat'>();
  if (!file) return m;
  for (const l of readFileSync(file, 'utf8').split(/\r?\n/)) {
    const [onnx, vnnlib, v] = l.split(',').map((s) => s.trim());
    if (onnx && vnnlib && (v === 'sat' || v === 'unsat')) m.set(`${path.basename(onnx)},${path.basename(vnnlib)}`, v);
  }
  return m;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const csv = args.find((a, i) => !a.startsWith('--') && (i === 0 || !args[i - 1]!.startsWith('--')));
  if (!csv) throw new Error('usage: vnncomp INSTANCES.csv [--timeout S] [--every K] [--only SUBSTRING] [--expected FILE] [--json]');
  const cap = opt('--timeout') ? Number(opt('--timeout')) : Infinity;
  const every = Number(opt('--every') ?? 1);
  const only = opt('--only');
  // Both cores by default: the competition criterion is wall time on the whole machine.
  const threads = Number(opt('--threads') ?? availableParallelism());
  let list = readInstances(csv).filter((_, i) => i % every === 0);
  if (only) list = list.filter((r) => `${r.onnx},${r.vnnlib}`.includes(only));
  const results: InstanceResult[] = [];
  for (const inst of list) {
    const r = await runInstance({ ...inst, timeout: Math.min(inst.timeout, cap) }, threads);
    results.push(r);
    if (!args.includes('--json')) {
      console.log(`${path.basename(r.onnx)} ${path.basename(r.vnnlib)} ${r.verdict} ${r.seconds.toFixed(2)} s (${r.method}, ${r.domains} domains${r.domainsPerSecond !== null ? `, ${r.domainsPerSecond}/s` : ''})`);
    }
  }
  const summary = summarize(results, readExpected(opt('--expected')));
  if (args.includes('--json')) console.log(JSON.stringify({ results, summary }));
  else console.log(`\n${formatSection(summary)}`);
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  });
}
