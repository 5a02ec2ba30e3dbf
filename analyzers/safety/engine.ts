/**
 * The verification engine for one property (a VNNLIB file, or a robustness query turned into
 * one): falsify first, then prove by bound propagation with branch and bound, with an exact MILP
 * check on subproblems small enough for it.
 *
 * Verdicts, and what backs each:
 *  - violated: a counterexample confirmed by a plain float32 ONNX Runtime forward pass (falsify.ts).
 *  - holds: every disjunct of the unsafe set is shown empty on its whole box: the lower bound of
 *    its violation score max_k (a_k.y - b_k) exceeds the proof margin on every leaf of the
 *    search (CROWN/IBP in Float64 with outward rounding, or a MILP optimum), or a leaf's split
 *    constraints are contradictory.
 *  - unknown: the time budget ran out (or the model is outside what bounds can handle); the
 *    best proven lower bound and the lowest score the search reached are reported.
 * Proof margin: we prove the real-valued network with float32 weights, while ONNX Runtime runs it
 * in float32. A bound clears the margin only when it is above
 *   MARGIN_ABS + MARGIN_REL * ||a_k||_1 * max(1, max_j |y_j(centre)|),
 * i.e. 1e-5 absolute plus 1e-5 relative to the output scale: 15x or more above the float32
 * round-off of ONNX Runtime's forward pass measured against our Float64 one (worst |difference|
 * over 18,000 random points in the 45 ACAS Xu nets' property boxes: 6.9e-7; mnistfc 256x2 on its
 * 30 robustness boxes: 2.0e-6), and above the MILP tolerances. (1e-4 + 1e-4 left 1_1/prop_6
 * unprovable: its safety score bottoms out at 2.6e-4 at a corner of the second box.)
 *
 * Branch and bound (after Bunel et al. 2020, "Branch and Bound for Piecewise Linear Neural
 * Network Verification"): depth-first; input splitting (widest "smear" |coefficient| x width)
 * when the input has at most INPUT_SPLIT_MAX_DIM dimensions, otherwise ReLU splitting on the
 * unstable neuron with the largest BaBSR-style score (how much its upper-relaxation intercept
 * costs the bound). A leaf whose encoding has few enough binaries goes to the MILP.
 */
import { badParams } from '../../common/errors.js';
import { backward, layerBounds, MAX_COEFFICIENTS, type Box, type Splits } from './bounds.js';
import { countBinaries, encodingSize, milpEncodable, solveMilp } from './milp.js';
import { forward, type Network } from './network.js';
import { toDense, type DenseNet } from './dense.js';
import { inputSplitBab, MAX_GROUP } from './inputsplit.js';
import { reluSplitBab } from './relusplit.js';
import { attackDense } from './dense-attack.js';
import { confirm, falsify, newSearchState, type Counterexample, type SearchState } from './falsify.js';
import type { ModelRunner } from './runner.js';
import { violationScore, type Disjunct, type Property } from './vnnlib.js';

export const MARGIN_ABS = 1e-5;
export const MARGIN_REL = 1e-5;
const INPUT_SPLIT_MAX_DIM = 8;
/**
 * First falsification pass of the batched path: 5 % of the budget, at most 2 s (PGD in Float64 on
 * the dense form; the violated ACAS Xu instances fall within the first hundred starts, while
 * the 20 % the general path spends would be 12 s of a 60 s budget taken from the proofs).
 */
const DENSE_FALSIFY_SHARE = 0.05;
const DENSE_FALSIFY_MAX_MS = 2000;

export type Verdict = 'holds' | 'violated' | 'unknown';

export interface EngineOptions {
  timeoutMs: number;
  seed: number;
  signal?: AbortSignal;
  progress?: (fraction: number, message?: string) => void;
  /** Use the exact MILP check (default true). */
  milp?: boolean;
  /** Largest number of binaries a MILP may have (default 200). */
  milpMaxBinaries?: number;
  /** Largest encoding (constraint-matrix nonzeros) a MILP may have (default 20000). */
  milpMaxNonzeros?: number;
  /** Share of the budget for the first falsification pass (default 0.2). */
  falsifyShare?: number;
  /** 'both' (default): output bounds take the better of CROWN's adaptive and the parallel ReLU lower slope. */
  lowerSlopes?: 'adaptive' | 'both';
  /** Skip the proof (falsification only). */
  proveOff?: boolean;
  /** Batched dense input splitting for small-input ReLU chains (default true; false: the general search). */
  batched?: boolean;
  /** Threads for the batched search's bounds (dense-pool.ts; default 1). */
  threads?: number;
}

export interface PropertyOutcome {
  status: Verdict;
  /** Which stage decided: falsification, bounds (root bounds sufficed), branch-and-bound, milp, none. */
  method: string;
  counterexample: Counterexample | null;
  disjuncts: number;
  disjunctsProved: number;
  /** Proven lower bound of min over the property of the violation score (> 0: safe); null if no proof ran. */
  lowerBound: number | null;
  /** Lowest violation score any evaluated input reached (<= 0 with a counterexample). */
  searchBest: number | null;
  margin: number;
  domains: number;
  /** Time spent in the batched input-splitting search (domains per second = domains / batchedMs). */
  batchedMs: number;
  milpCalls: number;
  maxBinaries: number;
  evaluations: number;
  gradientSteps: number;
  falsifyMs: number;
  proveMs: number;
  notes: string[];
}

interface Domain {
  box: Box;
  splits: Splits;
  /** Disjunct indices (into the group) not yet shown empty here, with the parent's lower bound. */
  open: Map<number, number>;
  /** The parent's layer bounds, valid for layers below `upto` (ReLU splits change only later ones). */
  reuse?: { pre: (Box | null)[]; upto: number };
}

export async function verifyProperty(net: Network | null, runner: ModelRunner, prop: Property, opts: EngineOptions): Promise<PropertyOutcome> {
  if (prop.numInputs !== runner.numInputs) {
    throw badParams(`the property has ${prop.numInputs} inputs (X_i) but the model input has ${runner.numInputs} values`);
  }
  if (prop.numOutputs !== runner.numOutputs) {
    throw badParams(`the property has ${prop.numOutputs} outputs (Y_j) but the model output has ${runner.numOutputs} values`);
  }
  const start = Date.now();
  const deadline = start + opts.timeoutMs;
  const notes: string[] = [];
  const state = newSearchState(prop.disjuncts.length);
  const out: PropertyOutcome = {
    status: 'unknown',
    method: 'none',
    counterexample: null,
    disjuncts: prop.disjuncts.length,
    disjunctsProved: 0,
    lowerBound: null,
    searchBest: null,
    margin: 0,
    domains: 0,
    batchedMs: 0,
    milpCalls: 0,
    maxBinaries: 0,
    evaluations: 0,
    gradientSteps: 0,
    falsifyMs: 0,
    proveMs: 0,
    notes,
  };
  const finish = (): PropertyOutcome => {
    out.evaluations = state.evaluations;
    out.gradientSteps = state.gradientSteps;
    const best = Math.min(...state.best);
    out.searchBest = Number.isFinite(best) ? best : null;
    return out;
  };
  if (prop.disjuncts.length === 0) {
    notes.push('the unsafe set is empty (contradictory input bounds)');
    out.status = 'holds';
    out.method = 'bounds';
    out.lowerBound = Infinity;
    return finish();
  }
  if (!runner.hasGradients) notes.push(`no input gradients (${runner.gradientIssue}); falsification uses sampling only`);

  // 1. Falsify. Small-input ReLU chains (the batched search below) get a short multi-start PGD in
  //    Float64 on the dense form instead (dense-attack.ts, thousands of steps a second); the
  //    search itself keeps descending from its bounds' minimizers, and whatever time it leaves
  //    goes to more starts.
  const f0 = Date.now();
  const dense = net && !opts.proveOff && (opts.batched ?? true) && net.numInputs <= INPUT_SPLIT_MAX_DIM ? toDense(net) : null;
  const share = opts.falsifyShare ?? (dense ? DENSE_FALSIFY_SHARE : 0.2);
  const falsifyEnd = net && !opts.proveOff ? start + Math.min(share * opts.timeoutMs, dense ? DENSE_FALSIFY_MAX_MS : Infinity) : deadline;
  for (let i = 0; i < prop.disjuncts.length; i++) {
    const slice = (falsifyEnd - Date.now()) / (prop.disjuncts.length - i);
    const fopts = { deadline: Date.now() + slice, seed: opts.seed, signal: opts.signal };
    const cex = dense ? await attackDense(dense, runner, prop.disjuncts[i]!, i, state, fopts) : await falsify(runner, prop.disjuncts[i]!, i, state, fopts);
    opts.progress?.(Math.min(1, (Date.now() - start) / opts.timeoutMs), `falsifying disjunct ${i + 1}/${prop.disjuncts.length}`);
    if (cex) {
      out.falsifyMs = Date.now() - f0;
      out.status = 'violated';
      out.method = 'falsification';
      out.counterexample = cex;
      return finish();
    }
  }
  out.falsifyMs = Date.now() - f0;
  if (!net || opts.proveOff) {
    if (!net) notes.push('bound propagation cannot handle this model; only falsification ran');
    return finish();
  }

  // 2. Prove, one group of disjuncts sharing an input box at a time (if the dense coefficient
  //    matrices of the output pass fit in memory).
  const widest = Math.max(net.numInputs, ...net.layers.map((L) => (L.kind === 'affine' || L.kind === 'maxpool' ? Math.max(L.nIn, L.nOut) : L.n)));
  const rowsNeeded = prop.disjuncts.reduce((s, d) => s + d.constraints.length, 0);
  if (rowsNeeded * widest > MAX_COEFFICIENTS) {
    notes.push(`bounds skipped: ${rowsNeeded} output constraints x ${widest} neurons is too large for the dense backward pass`);
    return finish();
  }
  const p0 = Date.now();
  const margins = prop.disjuncts.map((d) => marginFor(net, d));
  out.margin = Math.max(...margins);
  const groups = groupByBox(prop.disjuncts);
  // Wider ReLU chains get the batched ReLU-splitting search (relusplit.ts).
  const wide = !dense && (opts.batched ?? true) ? toDense(net) : null;
  const disjunctLB = new Float64Array(prop.disjuncts.length).fill(Infinity);
  let usedBab = false;
  let usedMilp = false;
  let allProved = true;
  for (let gi = 0; gi < groups.length; gi++) {
    const group = groups[gi]!;
    const groupDeadline = Date.now() + (deadline - Date.now()) / (groups.length - gi);
    const gopts = { ...opts, deadline: groupDeadline, start };
    const r =
      dense && group.length <= MAX_GROUP
        ? await proveGroupBatched(inputSplitBab, 'input splitting', dense, runner, prop, group, margins, state, out, gopts)
        : wide && group.length <= MAX_GROUP
          ? await proveGroupBatched(reluSplitBab, 'ReLU splitting', wide, runner, prop, group, margins, state, out, gopts)
          : await proveGroup(net, runner, prop, group, margins, state, out, gopts);
    for (const [i, lb] of r.lowerBounds) disjunctLB[i] = lb;
    if (r.counterexample) {
      out.proveMs = Date.now() - p0;
      out.status = 'violated';
      out.method = r.usedMilp ? 'milp' : 'branch-and-bound';
      out.counterexample = r.counterexample;
      out.lowerBound = null;
      return finish();
    }
    usedBab ||= r.branched;
    usedMilp ||= r.usedMilp;
    if (!r.proved) allProved = false;
    out.disjunctsProved += r.provedCount;
  }
  out.proveMs = Date.now() - p0;
  out.lowerBound = Math.min(...disjunctLB);
  if (allProved) {
    out.status = 'holds';
    out.method = usedMilp ? 'milp' : usedBab ? 'branch-and-bound' : 'bounds';
    return finish();
  }
  // 3. Spend what is left on more search: a counterexample still decides.
  for (let i = 0; i < prop.disjuncts.length && Date.now() < deadline && !opts.signal?.aborted; i++) {
    if (disjunctLB[i]! > margins[i]!) continue;
    const slice = (deadline - Date.now()) / (prop.disjuncts.length - i);
    const fopts = { deadline: Date.now() + slice, seed: opts.seed + 1000, signal: opts.signal };
    const cex = dense ? await attackDense(dense, runner, prop.disjuncts[i]!, i, state, fopts) : await falsify(runner, prop.disjuncts[i]!, i, state, { ...fopts, restarts: 1000 });
    if (cex) {
      out.status = 'violated';
      out.method = 'falsification';
      out.counterexample = cex;
      out.lowerBound = null;
      return finish();
    }
  }
  return finish();
}

/** Proof margin of one disjunct (see the file comment). */
export function marginFor(net: Network, d: Disjunct): number {
  const centre = new Float64Array(d.lo.length);
  for (let j = 0; j < centre.length; j++) centre[j] = 0.5 * (d.lo[j]! + d.hi[j]!);
  const y = forward(net, centre);
  let ymax = 1;
  for (const v of y) ymax = Math.max(ymax, Math.abs(v));
  let m = 0;
  for (const c of d.constraints) {
    let a1 = 0;
    for (const v of c.a) a1 += Math.abs(v);
    m = Math.max(m, MARGIN_ABS + MARGIN_REL * a1 * ymax);
  }
  return m || MARGIN_ABS;
}

function groupByBox(ds: Disjunct[]): number[][] {
  const groups: number[][] = [];
  const same = (a: Disjunct, b: Disjunct) => a.lo.every((v, j) => v === b.lo[j]) && a.hi.every((v, j) => v === b.hi[j]);
  for (let i = 0; i < ds.length; i++) {
    const g = groups.find((g) => same(ds[g[0]!]!, ds[i]!));
    if (g) g.push(i);
    else groups.push([i]);
  }
  return groups;
}

interface GroupResult {
  proved: boolean;
  provedCount: number;
  lowerBounds: Map<number, number>;
  counterexample: Counterexample | null;
  branched: boolean;
  usedMilp: boolean;
}

async function proveGroup(
  net: Network,
  runner: ModelRunner,
  prop: Property,
  group: number[],
  margins: number[],
  state: SearchState,
  out: PropertyOutcome,
  opts: EngineOptions & { deadline: number; start: number },
): Promise<GroupResult> {
  const d0 = prop.disjuncts[group[0]!]!;
  const lastLayer = net.layers.length;
  const useMilp = (opts.milp ?? true) && milpEncodable(net);
  const milpMax = opts.milpMaxBinaries ?? 200;
  const inputSplit = net.numInputs <= INPUT_SPLIT_MAX_DIM;
  // Lower bound per disjunct over leaves that stayed open (Infinity: every leaf closed).
  const leafLB = new Map<number, number>(group.map((i) => [i, Infinity]));
  const result: GroupResult = { proved: false, provedCount: 0, lowerBounds: leafLB, counterexample: null, branched: false, usedMilp: false };
  const stack: Domain[] = [{ box: { lo: d0.lo, hi: d0.hi }, splits: new Map(), open: new Map(group.map((i) => [i, -Infinity])) }];
  const unresolved = new Set<number>();
  // Lowest bound that closed a leaf, per disjunct: the proven lower bound when all leaves close.
  const closedLB = new Map<number, number>(group.map((i) => [i, Infinity]));
  while (stack.length > 0) {
    if (Date.now() > opts.deadline || opts.signal?.aborted) break;
    const dom = stack.pop()!;
    out.domains++;
    if (out.domains % 16 === 0) opts.progress?.(Math.min(1, (Date.now() - opts.start) / opts.timeoutMs), `branch and bound: ${out.domains} domains, ${stack.length} open`);
    const lb = layerBounds(net, dom.box, dom.splits, {}, dom.reuse);
    if (!lb.feasible) continue; // contradictory splits: nothing lives here
    const open = [...dom.open.keys()];
    const rows: Array<{ disjunct: number; k: number }> = [];
    for (const i of open) prop.disjuncts[i]!.constraints.forEach((_, k) => rows.push({ disjunct: i, k }));
    const m = rows.length;
    const C = new Float64Array(m * net.numOutputs);
    rows.forEach((r, i) => C.set(prop.disjuncts[r.disjunct]!.constraints[r.k]!.a, i * net.numOutputs));
    const back = backward(net, lastLayer, C, m, lb.pre, dom.box, true);
    if (opts.lowerSlopes !== 'adaptive') {
      // A second relaxation with the other sound ReLU lower slope; each row keeps its better bound.
      const alt = backward(net, lastLayer, C, m, lb.pre, dom.box, false, 'parallel');
      for (let r = 0; r < m; r++) back.lower[r] = Math.max(back.lower[r]!, alt.lower[r]!);
    }
    const stillOpen = new Map<number, number>();
    const bestRow = new Map<number, number>();
    for (const i of open) {
      let best = -Infinity;
      rows.forEach((r, ri) => {
        if (r.disjunct !== i) return;
        const v = back.lower[ri]! - prop.disjuncts[i]!.constraints[r.k]!.b;
        if (v > best) (best = v), bestRow.set(i, ri);
      });
      if (best > margins[i]!) {
        closedLB.set(i, Math.min(closedLB.get(i)!, best));
        continue;
      }
      stillOpen.set(i, Math.max(best, dom.open.get(i)!));
    }
    if (stillOpen.size === 0) continue;
    // The relaxation's minimizers are cheap candidates.
    for (const [i] of stillOpen) {
      const ri = bestRow.get(i);
      if (ri === undefined) continue;
      const x = new Float64Array(net.numInputs);
      for (let j = 0; j < x.length; j++) x[j] = back.inputCoef[ri * net.numInputs + j]! > 0 ? dom.box.lo[j]! : dom.box.hi[j]!;
      if (violationScore(prop.disjuncts[i]!, forward(net, x)) <= 0) {
        const cex = await confirm(runner, prop.disjuncts[i]!, i, x, state);
        if (cex) return { ...result, counterexample: cex };
      }
    }
    const binaries = useMilp ? countBinaries(net, lb.pre) : Infinity;
    if (binaries <= milpMax && encodingSize(net, lb.pre) <= (opts.milpMaxNonzeros ?? 20000)) {
      out.maxBinaries = Math.max(out.maxBinaries, binaries);
      for (const [i, parentLB] of [...stillOpen]) {
        // HiGHS checks its clock between phases and can overrun: ask for half of what is left.
        const left = (opts.deadline - Date.now()) / 2000;
        if (left <= 0.01) break;
        out.milpCalls++;
        result.usedMilp = true;
        const r = await solveMilp(net, dom.box, lb.pre, prop.disjuncts[i]!, left);
        if (r.status === 'safe' && r.objective! > margins[i]!) {
          closedLB.set(i, Math.min(closedLB.get(i)!, r.objective!));
          stillOpen.delete(i);
          continue;
        }
        if (r.x) {
          const cex = await confirm(runner, prop.disjuncts[i]!, i, r.x, state);
          if (cex) return { ...result, counterexample: cex };
        }
        if (r.status === 'safe') stillOpen.set(i, Math.max(parentLB, r.objective!));
      }
      if (stillOpen.size === 0) continue;
      // Solved exactly yet not decided (optimum within the margin, or the MILP ran out of time).
      for (const [i, v] of stillOpen) {
        unresolved.add(i);
        leafLB.set(i, Math.min(leafLB.get(i)!, v));
      }
      continue;
    }
    const children = branch(net, dom, lb.pre, back.reluCoef, back.inputCoef, rows, stillOpen, bestRow, inputSplit);
    if (!children) {
      for (const [i, v] of stillOpen) {
        unresolved.add(i);
        leafLB.set(i, Math.min(leafLB.get(i)!, v));
      }
      continue;
    }
    result.branched = true;
    stack.push(...children);
  }
  // Whatever is left on the stack is open, with its parent's bound.
  for (const dom of stack) {
    for (const [i, v] of dom.open) {
      unresolved.add(i);
      leafLB.set(i, Math.min(leafLB.get(i)!, v));
    }
  }
  for (const i of group) if (!unresolved.has(i)) leafLB.set(i, closedLB.get(i)!);
  result.proved = unresolved.size === 0;
  result.provedCount = group.filter((i) => !unresolved.has(i)).length;
  if (stack.length > 0) result.proved = false;
  return result;
}

/** A group through one of the batched searches (inputsplit.ts, relusplit.ts). */
async function proveGroupBatched(
  search: typeof inputSplitBab,
  what: string,
  dense: DenseNet,
  runner: ModelRunner,
  prop: Property,
  group: number[],
  margins: number[],
  state: SearchState,
  out: PropertyOutcome,
  opts: EngineOptions & { deadline: number; start: number },
): Promise<GroupResult> {
  const t0 = Date.now();
  const r = await search(dense, runner, prop, group, margins, state, {
    deadline: opts.deadline,
    seed: opts.seed,
    signal: opts.signal,
    threads: opts.threads,
    onProgress: (domains, queued) => opts.progress?.(Math.min(1, (Date.now() - opts.start) / opts.timeoutMs), `${what}: ${domains} domains, ${queued} open`),
  });
  out.domains += r.domains;
  out.batchedMs += Date.now() - t0;
  return {
    proved: r.proved.size === group.length,
    provedCount: r.proved.size,
    lowerBounds: r.lowerBounds,
    counterexample: r.counterexample,
    branched: r.branched,
    usedMilp: false,
  };
}

/** Two children of a domain, or null when nothing is left to split. */
function branch(
  net: Network,
  dom: Domain,
  pre: (Box | null)[],
  reluCoef: Map<number, Float64Array>,
  inputCoef: Float64Array,
  rows: Array<{ disjunct: number; k: number }>,
  open: Map<number, number>,
  bestRow: Map<number, number>,
  inputSplit: boolean,
): Domain[] | null {
  const m = rows.length;
  // Focus on the open disjunct whose bound is worst.
  let target = -1;
  let worst = Infinity;
  for (const [i, v] of open) if (v < worst) (worst = v), (target = i);
  const ri = bestRow.get(target) ?? rows.findIndex((r) => r.disjunct === target);
  if (!inputSplit) {
    let bestK = -1;
    let bestJ = -1;
    let bestScore = 0;
    for (const [k, A] of reluCoef) {
      const b = pre[k]!;
      const s = dom.splits.get(k);
      const n = A.length / m;
      for (let j = 0; j < n; j++) {
        const l = b.lo[j]!;
        const u = b.hi[j]!;
        if (!(l < 0 && u > 0) || (s && s[j] !== 0)) continue;
        const a = ri >= 0 ? A[ri * n + j]! : 0;
        const score = Math.max(0, -a) * ((-u * l) / (u - l)) + 1e-3 * Math.abs(a) * Math.min(u, -l) + 1e-9 * (u - l);
        if (score > bestScore) (bestScore = score), (bestK = k), (bestJ = j);
      }
    }
    if (bestK >= 0) {
      const make = (side: 1 | -1): Domain => {
        const splits: Splits = new Map(dom.splits);
        const s = (splits.get(bestK) ?? new Int8Array(pre[bestK]!.lo.length)).slice();
        s[bestJ] = side;
        splits.set(bestK, s);
        return { box: dom.box, splits, open: new Map(open), reuse: { pre, upto: bestK + 1 } };
      };
      return [make(-1), make(1)];
    }
  }
  // Input split: the dimension with the largest |coefficient| x width.
  const n = net.numInputs;
  let bestJ = -1;
  let bestScore = 0;
  for (let j = 0; j < n; j++) {
    const w = dom.box.hi[j]! - dom.box.lo[j]!;
    if (!(w > 1e-12 * (1 + Math.abs(dom.box.lo[j]!)))) continue;
    const a = ri >= 0 ? Math.abs(inputCoef[ri * n + j]!) : 0;
    const score = a * w + 1e-12 * w;
    if (score > bestScore) (bestScore = score), (bestJ = j);
  }
  if (bestJ < 0) return null;
  const mid = 0.5 * (dom.box.lo[bestJ]! + dom.box.hi[bestJ]!);
  const left = { lo: dom.box.lo, hi: dom.box.hi.slice() };
  left.hi[bestJ] = mid;
  const right = { lo: dom.box.lo.slice(), hi: dom.box.hi };
  right.lo[bestJ] = mid;
  return [
    { box: left, splits: dom.splits, open: new Map(open) },
    { box: right, splits: dom.splits, open: new Map(open) },
  ];
}
