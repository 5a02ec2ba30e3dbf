/**
 * safety: sound verification of a model against a property, with checked counterexamples.
 * Properties (one of):
 *   vnnlib        the text of a VNNLIB file (VNN-COMP format; asserts the unsafe set)
 *   eps+indices   local robustness: the L-inf ball of radius eps around dataset samples, clipped
 *                 to inputRange, keeps the argmax (ties count as violations)
 *   manipulation  DLV-style families (brightness / contrast / k salient pixels), enumerated
 * Verdicts holds / violated / unknown; see engine.ts for what backs each, README.md for the margins.
 */
import type { Analyzer, AnalyzerContext, LoadedModel } from '../types.js';
import { AppError, badParams } from '../../common/errors.js';
import { upgradeOpset } from '../../native/onnx/upgrade.js';
import { conformDataset } from '../../datasets/conform.js';
import { lowerNetwork, stripSoftmax, type Network } from './network.js';
import { parseVnnlib, type Property } from './vnnlib.js';
import { ModelRunner } from './runner.js';
import { verifyProperty, MARGIN_ABS, MARGIN_REL, type PropertyOutcome, type Verdict } from './engine.js';
import { enumerateManipulations, type ManipulationKind, type ManipulationOutcome } from './manipulations.js';

export type SafetyParams = {
  vnnlib?: string;
  eps?: number;
  indices: number[];
  inputRange: number[];
  manipulation: 'none' | ManipulationKind;
  manipulationRange: number;
  manipulationSteps: number;
  pixels: number;
  maxEvaluations: number;
  timeout: number;
  milp: boolean;
  milpMaxBinaries: number;
  inputSplitting: boolean;
  threads: number;
  seed: number;
};

export interface SafetyCounterexample {
  /** The input, float32 values as fed to ONNX Runtime, flattened. */
  input: number[];
  /** The model output on it from a fresh ONNX Runtime forward pass, flattened. */
  output: number[];
  /** Index of the unsafe-set disjunct it satisfies (VNNLIB / robustness), or null. */
  disjunct: number | null;
  /** max_k (a_k.y - b_k) on it (<= 0), or the class margin for manipulations; null when unbounded. */
  score: number | null;
  description: string | null;
}

export interface SafetyCheck {
  /** What was checked: "vnnlib", or "sample 12" for robustness and manipulations. */
  name: string;
  index: number | null;
  label: number | null;
  predicted: number | null;
  status: Verdict;
  method: string;
  counterexample: SafetyCounterexample | null;
  /** Proven lower bound of the violation score (> 0 everywhere: safe); null where no proof ran. */
  lowerBound: number | null;
  /** Lowest violation score the search reached. */
  searchBest: number | null;
  margin: number | null;
  disjuncts: number | null;
  disjunctsProved: number | null;
  domains: number;
  /** Domains per second of the batched input-splitting search; null where it did not run. */
  domainsPerSecond: number | null;
  milpCalls: number;
  maxBinaries: number;
  evaluations: number;
  gradientSteps: number;
  familySize: number | null;
  pixels: number[] | null;
  durationMs: number;
  notes: string[];
}

export interface SafetyResult {
  status: Verdict;
  property: 'vnnlib' | 'robustness' | 'manipulation';
  checks: SafetyCheck[];
  holds: number;
  violated: number;
  unknown: number;
  timeoutSeconds: number;
  /** Bounds must clear marginAbs + marginRel * ||a||_1 * output scale (engine.ts). */
  marginAbs: number;
  marginRel: number;
  /** Why bound propagation could not run, when it could not. */
  boundsIssue: string | null;
  notes: string[];
}

function parseRange(parts: number[]): [number, number] {
  if (parts.length !== 2 || parts.some((v) => !Number.isFinite(v)) || parts[0]! >= parts[1]!) {
    throw badParams(`inputRange must be [min, max] with min < max, got [${parts.join(', ')}]`, { param: 'inputRange' });
  }
  return [parts[0]!, parts[1]!];
}

/** Robustness around x: for each other class j, the unsafe disjunct y_label - y_j <= 0. */
export function robustnessProperty(x: ArrayLike<number>, label: number, eps: number, range: [number, number], numOutputs: number): Property {
  const n = x.length;
  const lo = new Float64Array(n);
  const hi = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    lo[j] = Math.max(range[0], x[j]! - eps);
    hi[j] = Math.min(range[1], x[j]! + eps);
    if (lo[j]! > hi[j]!) throw badParams(`sample value ${x[j]} lies outside inputRange ${range}; widen inputRange`, { param: 'inputRange' });
  }
  const disjuncts = [];
  for (let j = 0; j < numOutputs; j++) {
    if (j === label) continue;
    const a = new Float64Array(numOutputs);
    a[label] = 1;
    a[j] = -1;
    disjuncts.push({ lo, hi, constraints: [{ a, b: 0, strict: false }] });
  }
  return { numInputs: n, numOutputs, disjuncts };
}

const argmax = (y: ArrayLike<number>): number => {
  let k = 0;
  for (let j = 1; j < y.length; j++) if (y[j]! > y[k]!) k = j;
  return k;
};

function fromOutcome(name: string, o: PropertyOutcome, started: number, extra: Partial<SafetyCheck> = {}): SafetyCheck {
  return {
    name,
    index: null,
    label: null,
    predicted: null,
    status: o.status,
    method: o.method,
    counterexample: o.counterexample
      ? { input: Array.from(o.counterexample.input), output: Array.from(o.counterexample.output), disjunct: o.counterexample.disjunct, score: Number.isFinite(o.counterexample.score) ? o.counterexample.score : null, description: null }
      : null,
    lowerBound: o.lowerBound === null ? null : Number.isFinite(o.lowerBound) ? o.lowerBound : null,
    searchBest: o.searchBest,
    margin: o.margin,
    disjuncts: o.disjuncts,
    disjunctsProved: o.disjunctsProved,
    domains: o.domains,
    domainsPerSecond: o.batchedMs > 0 ? Math.round((1000 * o.domains) / o.batchedMs) : null,
    milpCalls: o.milpCalls,
    maxBinaries: o.maxBinaries,
    evaluations: o.evaluations,
    gradientSteps: o.gradientSteps,
    familySize: null,
    pixels: null,
    durationMs: Date.now() - started,
    notes: o.notes,
    ...extra,
  };
}

/** The fields of a check that no bound search ran for (enumerated manipulations, empty checks). */
const NO_BOUND_SEARCH = {
  margin: null,
  disjuncts: null,
  disjunctsProved: null,
  domains: 0,
  domainsPerSecond: null,
  milpCalls: 0,
  maxBinaries: 0,
} as const satisfies Partial<SafetyCheck>;

function fromManipulation(name: string, index: number, label: number, predicted: number, o: ManipulationOutcome, started: number): SafetyCheck {
  return {
    name,
    index,
    label,
    predicted,
    status: o.status,
    method: 'enumeration',
    counterexample: o.counterexample
      ? { input: Array.from(o.counterexample.input), output: Array.from(o.counterexample.output), disjunct: null, score: classMarginOf(o.counterexample.output, label), description: o.counterexample.description }
      : null,
    lowerBound: o.status === 'holds' ? o.minMargin : null,
    searchBest: Number.isFinite(o.minMargin) ? o.minMargin : null,
    ...NO_BOUND_SEARCH,
    evaluations: o.evaluated,
    gradientSteps: o.pixels ? 1 : 0,
    familySize: o.familySize,
    pixels: o.pixels,
    durationMs: Date.now() - started,
    notes: o.status === 'unknown' ? [`evaluated ${o.evaluated} of ${o.familySize} manipulations within the budget`] : [],
  };
}

function classMarginOf(y: Float64Array, label: number): number {
  let other = -Infinity;
  for (let j = 0; j < y.length; j++) if (j !== label) other = Math.max(other, y[j]!);
  return y[label]! - other;
}

/**
 * The lowered network, or the reason there is none (bounds need supported ops in a chain).
 * For robustness (argmax) properties a trailing Softmax/LogSoftmax is dropped: bounds are then on
 * the logits, which order the classes the same way; counterexamples are still judged on the
 * model's own outputs.
 */
export function tryLower(model: LoadedModel, argmaxOnly: boolean): { net: Network | null; issue: string | null; note: string | null } {
  const upgraded = upgradeOpset(model.ir);
  const stripped = argmaxOnly ? stripSoftmax(upgraded) : null;
  try {
    return { net: lowerNetwork(stripped ?? upgraded), issue: null, note: stripped ? 'bounds are on the logits (the trailing softmax keeps the class order)' : null };
  } catch (err) {
    if (err instanceof AppError && (err.code === 'UNSUPPORTED_OP' || err.code === 'BAD_MODEL')) return { net: null, issue: err.message, note: null };
    throw err;
  }
}

function combine(checks: SafetyCheck[]): Verdict {
  if (checks.some((c) => c.status === 'violated')) return 'violated';
  if (checks.every((c) => c.status === 'holds')) return 'holds';
  return 'unknown';
}

const hasVnnlib = (p: SafetyParams) => p.vnnlib !== undefined && p.vnnlib !== '';

/** Exactly one kind of property, and samples to check around for the dataset-based ones. */
function checkProperty(p: SafetyParams, hasDataset: boolean): void {
  const modes = [hasVnnlib(p), p.eps !== undefined, p.manipulation !== 'none'].filter(Boolean).length;
  if (modes !== 1) throw badParams('give exactly one property: vnnlib, eps (+ indices) for local robustness, or manipulation (+ indices)');
  if (!hasVnnlib(p) && !hasDataset) throw new AppError('BAD_DATASET', 'robustness and manipulation checks need a dataset (the samples to check around)');
}

/** At request time the VNNLIB text is parsed too (run parses it once more, to use it). */
function checkRequest(p: SafetyParams, hasDataset: boolean): void {
  checkProperty(p, hasDataset);
  if (hasVnnlib(p)) parseVnnlib(p.vnnlib!);
}

async function run(ctx: AnalyzerContext<SafetyParams>): Promise<SafetyResult> {
  const p = ctx.params;
  checkProperty(p, ctx.dataset !== null);
  const range = parseRange(p.inputRange);
  const timeoutMs = p.timeout * 1000;
  const notes: string[] = [];
  const runner = await ModelRunner.create(ctx.model.ir, ctx.model.bytes);
  try {
    const needBounds = p.manipulation === 'none';
    const lowered = needBounds ? tryLower(ctx.model, p.eps !== undefined) : { net: null, issue: null, note: null };
    let { net, issue } = lowered;
    if (lowered.note) notes.push(lowered.note);
    // Bounds must describe the output the runner judges (the first graph output).
    if (net && !lowered.note && net.outputName !== runner.outputName) {
      issue = `bound propagation reaches output ${net.outputName}, the check reads ${runner.outputName}`;
      net = null;
    }
    const engineOpts = { timeoutMs, seed: p.seed, signal: ctx.signal, milp: p.milp, milpMaxBinaries: p.milpMaxBinaries, batched: p.inputSplitting, threads: p.threads };
    const checks: SafetyCheck[] = [];
    let property: SafetyResult['property'];
    if (hasVnnlib(p)) {
      property = 'vnnlib';
      const prop = parseVnnlib(p.vnnlib!);
      const started = Date.now();
      const o = await verifyProperty(net, runner, prop, { ...engineOpts, progress: (f, m) => ctx.progress(f, m) });
      checks.push(fromOutcome('vnnlib', o, started));
    } else {
      const data = conformDataset(ctx.dataset!, ctx.model.ir);
      const per = data.x.length / data.count;
      if (per !== runner.numInputs) throw new AppError('DATASET_MISMATCH', `dataset samples have ${per} values, the model input ${runner.numInputs}`);
      const indices = p.indices;
      if (indices.length === 0) throw badParams('indices is empty', { param: 'indices' });
      for (const i of indices) if (i < 0 || i >= data.count) throw badParams(`index ${i} is outside the dataset (0..${data.count - 1})`, { param: 'indices' });
      property = p.eps !== undefined ? 'robustness' : 'manipulation';
      if (data.y && data.yShape.length > 0) {
        throw new AppError('BAD_DATASET', `robustness and manipulation checks need one class index per sample in y; this y has per-sample shape [${data.yShape}]`);
      }
      if (runner.numOutputs < 2) {
        throw new AppError(
          'BAD_MODEL',
          `local robustness and manipulation checks compare classes, and this model has ${runner.numOutputs} output value (a score): ` +
            'state the property as VNNLIB instead (the vnnlib param, e.g. the score staying on one side of a threshold)',
        );
      }
      for (let t = 0; t < indices.length; t++) {
        if (ctx.signal.aborted) throw ctx.signal.reason ?? new AppError('CANCELLED', 'cancelled');
        const i = indices[t]!;
        const started = Date.now();
        const x = data.x.slice(i * per, (i + 1) * per);
        const y0 = await runner.forward(x);
        const predicted = argmax(y0);
        const label = data.y ? Number(data.y[i]) : predicted;
        if (!Number.isInteger(label) || label < 0 || label >= runner.numOutputs) {
          throw new AppError('BAD_DATASET', `label y[${i}] = ${label} is not a class index in 0..${runner.numOutputs - 1}`);
        }
        const name = `sample ${i}`;
        const base = { index: i, label, predicted };
        const onProgress = (f: number, m?: string) => ctx.progress((t + f) / indices.length, `${name}: ${m ?? ''}`);
        if (classMarginOf(y0, label) <= 0) {
          // Misclassified (or tied) already: the sample itself is the counterexample.
          checks.push({
            ...emptyCheck(name, started),
            ...base,
            status: 'violated',
            method: 'clean sample',
            counterexample: { input: Array.from(x), output: Array.from(y0), disjunct: null, score: classMarginOf(y0, label), description: 'the unperturbed sample' },
          });
          continue;
        }
        if (property === 'robustness') {
          const prop = robustnessProperty(x, label, p.eps!, range, runner.numOutputs);
          const o = await verifyProperty(net, runner, prop, { ...engineOpts, progress: onProgress });
          checks.push(fromOutcome(name, o, started, base));
        } else {
          const o = await enumerateManipulations(
            runner,
            x,
            label,
            { kind: p.manipulation as ManipulationKind, range: p.manipulationRange, steps: p.manipulationSteps, pixels: p.pixels, maxEvaluations: p.maxEvaluations, inputMin: range[0], inputMax: range[1] },
            ctx.signal,
            started + timeoutMs,
          );
          checks.push(fromManipulation(name, i, label, predicted, o, started));
        }
        ctx.progress((t + 1) / indices.length, `${name}: ${checks[checks.length - 1]!.status}`);
      }
    }
    if (ctx.signal.aborted) throw ctx.signal.reason ?? new AppError('CANCELLED', 'cancelled');
    if (issue) notes.push(`bounds unavailable: ${issue}`);
    return {
      status: combine(checks),
      property,
      checks,
      holds: checks.filter((c) => c.status === 'holds').length,
      violated: checks.filter((c) => c.status === 'violated').length,
      unknown: checks.filter((c) => c.status === 'unknown').length,
      timeoutSeconds: p.timeout,
      marginAbs: MARGIN_ABS,
      marginRel: MARGIN_REL,
      boundsIssue: issue,
      notes,
    };
  } finally {
    await runner.close();
  }
}

function emptyCheck(name: string, started: number): SafetyCheck {
  return {
    name,
    index: null,
    label: null,
    predicted: null,
    status: 'unknown',
    method: 'none',
    counterexample: null,
    lowerBound: null,
    searchBest: null,
    ...NO_BOUND_SEARCH,
    evaluations: 1,
    gradientSteps: 0,
    familySize: null,
    pixels: null,
    durationMs: Date.now() - started,
    notes: [],
  };
}

export const safetyAnalyzer: Analyzer<SafetyParams, SafetyResult> = {
  name: 'safety',
  version: 2,
  description:
    'Sound safety verification: VNNLIB properties, local robustness (L-inf eps balls) or DLV manipulation families. ' +
    'Falsifies first (PGD on input gradients), proves by CROWN/IBP bound propagation with branch and bound and an exact MILP (HiGHS); ' +
    'verdict holds, violated (with a counterexample re-checked by ONNX Runtime) or unknown.',
  needsDataset: false,
  params: [
    { name: 'vnnlib', type: 'string', description: 'VNNLIB property text (declare-const X_i/Y_j; asserts the unsafe set).' },
    { name: 'eps', type: 'float', description: 'Local robustness: L-inf radius around each sample in indices.', min: 0 },
    { name: 'indices', type: 'intList', description: 'Dataset samples to check (robustness, manipulation).', default: [0], min: 0 },
    { name: 'inputRange', type: 'floatList', description: 'Input domain [min, max]; robustness balls and manipulations are clipped to it.', default: [0, 1] },
    { name: 'manipulation', type: 'enum', description: 'DLV manipulation family to enumerate.', choices: ['none', 'brightness', 'contrast', 'pixels'], default: 'none' },
    { name: 'manipulationRange', type: 'float', description: 'brightness: offsets in [-r, r]; contrast: factors in [1-r, 1+r]; pixels: deltas in [-r, r].', default: 0.1, min: 0 },
    { name: 'manipulationSteps', type: 'int', description: 'Discrete values per manipulated quantity.', default: 3, min: 1, max: 1001 },
    { name: 'pixels', type: 'int', description: 'pixels family: how many of the most salient inputs to perturb.', default: 4, min: 1, max: 16 },
    { name: 'maxEvaluations', type: 'int', description: 'Budget of forward passes per sample for manipulation enumeration.', default: 20000, min: 1 },
    { name: 'timeout', type: 'float', description: 'Time budget per property (per sample for robustness), seconds.', default: 60, min: 0.1, max: 86400 },
    { name: 'milp', type: 'bool', description: 'Use the exact MILP check (HiGHS) on small subproblems.', default: true },
    { name: 'milpMaxBinaries', type: 'int', description: 'Largest number of binary variables a MILP subproblem may have.', default: 200, min: 0 },
    { name: 'inputSplitting', type: 'bool', description: 'Batched dense searches: input splitting for ReLU chains with at most 8 inputs, ReLU splitting with alpha/beta-CROWN for wider dense ReLU chains (false: the general search, ReLU splitting and MILP leaves).', default: true },
    { name: 'threads', type: 'int', description: 'Threads computing the batched input-splitting bounds (worker_threads; results equal to 1 thread, only faster).', default: 1, min: 1, max: 16 },
    { name: 'seed', type: 'int', description: 'Seed of the random restarts.', default: 0 },
  ],
  checkRequest,
  needsDatasetFor: (p) => !hasVnnlib(p),
  run,
};
