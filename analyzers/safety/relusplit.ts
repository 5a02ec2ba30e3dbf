/**
 * ReLU-splitting branch and bound for dense ReLU networks with many inputs (mnistfc: 784), the
 * batched counterpart of the general search in engine.ts: a domain is the property's box plus a
 * set of ReLU splits (z_j >= 0 or z_j <= 0), held as the intermediate bounds clamped at the split
 * neurons; BATCH domains are bounded together (dense-bounds.ts).
 *
 * Bounds per domain: IBP intersected with the parent's bounds, CROWN for the neurons still
 * unstable above a split (a split on the last ReLU layer changes no intermediate bound, so its
 * children skip that pass), then the output rows with alpha-CROWN slopes and beta-CROWN
 * multipliers for the splits (Wang et al. 2021, "Beta-CROWN"), both warm-started from the parent's
 * best per row (as alpha,beta-CROWN does) so a few steps per domain suffice. A domain whose
 * clamped bounds cross (lo > hi somewhere) is empty: its splits contradict each other.
 *
 * Search: best first on the lowest proven bound; once MAX_QUEUED domains wait (each holds its
 * bounds and warm starts, ~10-40 KB on mnistfc), children go to a depth-first stack. Branching:
 * the unstable neuron with the largest BaBSR-style score on the worst open row (Bunel et al. 2020:
 * the chord intercept's share of the bound, plus a small share of the lower relaxation's gap).
 * Falsification learns from the bounds as in inputsplit.ts: every open domain's relaxation
 * minimizer is evaluated in Float64, the lowest few seed PGD steps, and a share of the time goes
 * to multi-start PGD (dense-attack.ts); only falsify.ts:confirm (ORT) makes a verdict "violated".
 */
import { reluCount } from './dense-bounds.js';
import { DensePool } from './dense-pool.js';
import { DomainHeap } from './domain-heap.js';
import { DenseAttack, descendDense } from './dense-attack.js';
import { denseForward, type DenseNet } from './dense.js';
import { confirm, type Counterexample, type SearchState } from './falsify.js';
import { float32AtLeast, float32AtMost, type ModelRunner } from './runner.js';
import { violationScore, type Property } from './vnnlib.js';
import { MAX_GROUP, type InputSplitOptions, type InputSplitResult } from './inputsplit.js';

const BATCH = 16;
/** alpha/beta iterations: more at the root (no warm start), fewer on warm-started children. */
const ROOT_STEPS = 20;
const CHILD_STEPS = 6;
/** Open domains of each batch (the lowest bounds) whose minimizer seeds a descent, and its steps. */
const DESCENTS = 2;
const DESCENT_STEPS = 12;
/** Share of the search's time given to interleaved multi-start PGD. */
const ATTACK_SHARE = 0.15;
const MAX_QUEUED = 5_000;

interface Domain {
  /** Split sign per ReLU neuron (flattened over the ReLU layers): +1 z >= 0, -1 z <= 0, 0 none. */
  sign: Int8Array;
  /** Intermediate bounds (2 x reluCount, lo then hi) with this domain's splits clamped; null at the root. */
  bounds: Float32Array | null;
  /** Bit g set: disjunct group[g] not yet shown empty here. */
  open: number;
  lb: number;
  /** Needs the intermediate CROWN pass (a split below the last ReLU layer). */
  crown: boolean;
  /** Per row key (g * 1024 + k): the parent's best slopes and multipliers (2 x reluCount). */
  warm: Map<number, Float32Array> | null;
}

export async function reluSplitBab(
  net: DenseNet,
  runner: ModelRunner,
  prop: Property,
  group: number[],
  margins: number[],
  state: SearchState,
  opts: InputSplitOptions,
): Promise<InputSplitResult> {
  if (group.length > MAX_GROUP) throw new Error(`reluSplitBab: at most ${MAX_GROUP} disjuncts per box`);
  const d = net.numInputs;
  const d0 = prop.disjuncts[group[0]!]!;
  const P = reluCount(net);
  const numOut = net.numOutputs;
  // Flat ReLU index range of each layer, and the last ReLU layer.
  const offsets = new Map<number, number>();
  let lastRelu = -1;
  for (let q = 0, o = 0; q < net.layers.length - 1; q++) {
    if (!net.layers[q]!.relu) continue;
    offsets.set(q, o);
    o += net.layers[q]!.nOut;
    lastRelu = q;
  }
  const heap = new DomainHeap<Domain>();
  const stack: Domain[] = [];
  const stuck: Domain[] = [];
  heap.push({ sign: new Int8Array(P), bounds: null, open: (1 << group.length) - 1, lb: -Infinity, crown: true, warm: null });
  const closedLB = new Map<number, number>(group.map((i) => [i, Infinity]));
  const result: InputSplitResult = { lowerBounds: new Map(), proved: new Set(), counterexample: null, domains: 0, branched: false };
  const attacks = group.map((i) => new DenseAttack(net, runner, prop.disjuncts[i]!, i, state, (opts.seed ?? 0) + 1));
  let batches = 0;
  const pool = new DensePool(net, opts.threads ?? 1);
  try {
    return await search();
  } finally {
    await pool.close();
  }

  async function search(): Promise<InputSplitResult> {
  while (heap.size > 0 || stack.length > 0) {
    if (Date.now() > opts.deadline || opts.signal?.aborted) break;
    const tBatch = Date.now();
    const batch: Domain[] = [];
    while (batch.length < BATCH && stack.length > 0) batch.push(stack.pop()!);
    while (batch.length < BATCH && heap.size > 0) batch.push(heap.pop()!);
    result.domains += batch.length;
    const children: Domain[] = [];
    const lowest: Array<{ lb: number; g: number; x: Float64Array }> = [];
    for (const crown of [true, false]) {
      const part = batch.filter((dom) => dom.crown === crown);
      if (part.length === 0) continue;
      const cex = await boundPart(part, crown, children, lowest);
      if (cex) return finish(cex);
    }
    lowest.sort((p, q) => p.lb - q.lb);
    for (const { g, x } of lowest.slice(0, DESCENTS)) {
      const cex = await descendDense(net, runner, prop.disjuncts[group[g]!]!, group[g]!, d0.lo, d0.hi, x, DESCENT_STEPS, state);
      if (cex) return finish(cex);
    }
    const attack = attacks[batches++ % attacks.length]!;
    const cexA = await attack.run(Math.min(opts.deadline, Date.now() + ATTACK_SHARE * (Date.now() - tBatch)), opts.signal);
    if (cexA) return finish(cexA);
    if (children.length > 0) result.branched = true;
    for (const c of children) {
      if (heap.size >= MAX_QUEUED) stack.push(c);
      else heap.push(c);
    }
    if (batches % 8 === 0) opts.onProgress?.(result.domains, heap.size + stack.length);
  }
  return finish(null);
  }

  /** Bounds of domains that share the `crown` flag; their children go to `children`. */
  async function boundPart(part: Domain[], crown: boolean, children: Domain[], lowest: Array<{ lb: number; g: number; x: Float64Array }>): Promise<Counterexample | null> {
    const B = part.length;
    const boxLo = new Float64Array(B * d);
    const boxHi = new Float64Array(B * d);
    const inherited = new Float64Array(B * 2 * P);
    part.forEach((dom, b) => {
      boxLo.set(d0.lo, b * d);
      boxHi.set(d0.hi, b * d);
      if (dom.bounds) inherited.set(dom.bounds, b * 2 * P);
      else {
        inherited.fill(-Infinity, b * 2 * P, b * 2 * P + P);
        inherited.fill(Infinity, b * 2 * P + P, (b + 1) * 2 * P);
      }
    });
    const rowDom: number[] = [];
    const rowG: number[] = [];
    const rowK: number[] = [];
    part.forEach((dom, b) => {
      group.forEach((i, g) => {
        if (!(dom.open & (1 << g))) return;
        prop.disjuncts[i]!.constraints.forEach((_, k) => {
          rowDom.push(b);
          rowG.push(g);
          rowK.push(k);
        });
      });
    });
    const R = rowDom.length;
    const C = new Float64Array(R * numOut);
    for (let r = 0; r < R; r++) C.set(prop.disjuncts[group[rowG[r]!]!]!.constraints[rowK[r]!]!.a, r * numOut);
    // Split signs (per domain) and warm starts (per row, NaN: none), per ReLU layer.
    const sign: (Int8Array | null)[] = [];
    const alpha: (Float64Array | null)[] = [];
    const beta: (Float64Array | null)[] = [];
    for (let q = 0; q < net.layers.length; q++) {
      const o = offsets.get(q);
      if (o === undefined) {
        sign.push(null), alpha.push(null), beta.push(null);
        continue;
      }
      const n = net.layers[q]!.nOut;
      const s = new Int8Array(B * n);
      part.forEach((dom, b) => s.set(dom.sign.subarray(o, o + n), b * n));
      const a = new Float64Array(R * n).fill(NaN);
      const be = new Float64Array(R * n);
      for (let r = 0; r < R; r++) {
        const w = part[rowDom[r]!]!.warm?.get(rowG[r]! * 1024 + rowK[r]!);
        if (!w) continue;
        for (let j = 0; j < n; j++) (a[r * n + j] = w[o + j]!), (be[r * n + j] = w[P + o + j]!);
      }
      sign.push(s), alpha.push(a), beta.push(be);
    }
    const steps = part.some((dom) => dom.warm === null) ? ROOT_STEPS : CHILD_STEPS;
    const run = await pool.run({ B, boxLo, boxHi, inherited, crown, dom: Int32Array.from(rowDom), C, split: { sign, alpha, beta, steps } });
    const out = { lower: run.lower, inputCoef: run.inputCoef, ...run.relaxation! };
    const own = run.inherited;
    let r = 0;
    for (let b = 0; b < B; b++) {
      const dom = part[b]!;
      if (!feasible(own, b)) {
        // Contradictory splits: the domain is empty.
        while (r < R && rowDom[r] === b) r++;
        continue;
      }
      let open = 0;
      let worst = Infinity;
      let worstRow = -1;
      const best = new Float64Array(group.length).fill(-Infinity);
      const bestRow = new Int32Array(group.length).fill(-1);
      const r0 = r;
      for (; r < R && rowDom[r] === b; r++) {
        const g = rowG[r]!;
        const v = out.lower[r]! - prop.disjuncts[group[g]!]!.constraints[rowK[r]!]!.b;
        if (v > best[g]!) (best[g] = v), (bestRow[g] = r);
      }
      group.forEach((i, g) => {
        if (!(dom.open & (1 << g))) return;
        if (best[g]! > margins[i]!) {
          closedLB.set(i, Math.min(closedLB.get(i)!, best[g]!));
          return;
        }
        open |= 1 << g;
        if (best[g]! < worst) (worst = best[g]!), (worstRow = bestRow[g]!);
      });
      if (open === 0) continue;
      const lb = Math.max(worst, dom.lb);
      const g = rowG[worstRow]!;
      const x = new Float64Array(d);
      for (let j = 0; j < d; j++) x[j] = out.inputCoef[worstRow * d + j]! > 0 ? d0.lo[j]! : d0.hi[j]!;
      const cex = await probe(group[g]!, x);
      if (cex) return cex;
      lowest.push({ lb, g, x });
      // Branch on the worst row's best-scoring unstable neuron.
      let pick = -1;
      let pickLayer = -1;
      let pickScore = -1;
      for (const [q, o] of offsets) {
        const n = net.layers[q]!.nOut;
        const o2 = b * 2 * P + o;
        const A = out.reluCoef[q]!;
        const al = out.alpha[q]!;
        for (let j = 0; j < n; j++) {
          if (dom.sign[o + j] !== 0) continue;
          const l = own[o2 + j]!;
          const u = own[o2 + P + j]!;
          if (!(l < 0 && u > 0)) continue;
          const a = A[worstRow * n + j]!;
          const s = Math.max(0, -a) * ((-u * l) / (u - l)) + 0.1 * Math.max(0, a) * Math.max(al[worstRow * n + j]! * -l, (1 - al[worstRow * n + j]!) * u) + 1e-9 * (u - l);
          if (s > pickScore) (pickScore = s), (pick = o + j), (pickLayer = q);
        }
      }
      if (pick < 0) {
        // Every ReLU fixed and still open: the bound is as tight as this relaxation gets.
        stuck.push({ ...dom, open, lb });
        continue;
      }
      // Children inherit these bounds (float32, rounded outward) and these rows' best alpha/beta.
      const kept = new Float32Array(2 * P);
      for (let t = 0; t < P; t++) {
        kept[t] = float32AtMost(own[b * 2 * P + t]!);
        kept[P + t] = float32AtLeast(own[b * 2 * P + P + t]!);
      }
      const warm = new Map<number, Float32Array>();
      for (let rr = r0; rr < r; rr++) {
        if (!(open & (1 << rowG[rr]!))) continue;
        const w = new Float32Array(2 * P);
        for (const [q, o] of offsets) {
          const n = net.layers[q]!.nOut;
          for (let j = 0; j < n; j++) (w[o + j] = out.alpha[q]![rr * n + j]!), (w[P + o + j] = out.beta[q]![rr * n + j]!);
        }
        warm.set(rowG[rr]! * 1024 + rowK[rr]!, w);
      }
      for (const side of [1, -1] as const) {
        const sg = dom.sign.slice();
        sg[pick] = side;
        const cb = kept.slice();
        if (side === 1) cb[pick] = Math.max(cb[pick]!, 0);
        else cb[P + pick] = Math.min(cb[P + pick]!, 0);
        children.push({ sign: sg, bounds: cb, open, lb, crown: pickLayer !== lastRelu, warm });
      }
    }
    return null;
  }

  /** False when domain b's bounds cross somewhere (its splits contradict each other). */
  function feasible(bounds: Float64Array, b: number): boolean {
    for (let t = 0; t < P; t++) if (bounds[b * 2 * P + t]! > bounds[b * 2 * P + P + t]!) return false;
    return true;
  }

  /** Point x evaluated in Float64 against disjunct i; a violation goes to confirm (ORT decides). */
  async function probe(i: number, x: Float64Array): Promise<Counterexample | null> {
    const disjunct = prop.disjuncts[i]!;
    return violationScore(disjunct, denseForward(net, x)) <= 0 ? confirm(runner, disjunct, i, x, state) : null;
  }

  function finish(cex: Counterexample | null): InputSplitResult {
    result.counterexample = cex;
    const openLB = new Map<number, number>(group.map((i) => [i, Infinity]));
    for (const dom of [...heap.drain(), ...stack, ...stuck]) {
      group.forEach((i, g) => {
        if (dom.open & (1 << g)) openLB.set(i, Math.min(openLB.get(i)!, dom.lb));
      });
    }
    for (const i of group) {
      if (openLB.get(i)! < Infinity) result.lowerBounds.set(i, openLB.get(i)!);
      else {
        result.lowerBounds.set(i, closedLB.get(i)!);
        if (!cex) result.proved.add(i);
      }
    }
    return result;
  }
}
