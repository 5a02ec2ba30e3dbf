/**
 * Input-splitting branch and bound for networks with few inputs (ACAS Xu: 5) on the dense form
 * (dense.ts), with the bounds of a whole batch of boxes computed together (dense-bounds.ts).
 *
 * Search order: best first on the lowest proven bound (the domains the proof is furthest from
 * closing, which is also where counterexamples live), BATCH domains per step. Memory is bounded:
 * once MAX_QUEUED domains wait, new children go to a stack that is worked off depth first (it
 * closes whole subtrees before anything else grows), until the queue is short again.
 * Branching: strong branching over the input dimensions, ranked by |coefficient| x width of the
 * relaxation of the worst open constraint (the "smear" of Wang et al. 2018, ReluVal); the
 * relatively widest dimension is bisected instead when no candidate gains (STALL) or the pick is
 * far narrower than it (ANISO).
 * Falsification learns from the bounds: each box's relaxation minimizer (the box corner picked
 * by the signs of the input coefficients) is evaluated in Float64, and the DESCENTS boxes of each
 * batch with the lowest bounds seed a few signed-gradient steps inside them; anything that violates in Float64 goes to
 * falsify.ts:confirm, the only thing that can make a verdict "violated".
 */
import { reluCount } from './dense-bounds.js';
import { DomainHeap } from './domain-heap.js';
import { DensePool } from './dense-pool.js';
import { DenseAttack, descendDense } from './dense-attack.js';
import { denseForward, type DenseNet } from './dense.js';
import { confirm, type Counterexample, type SearchState } from './falsify.js';
import { float32AtLeast, float32AtMost, type ModelRunner } from './runner.js';
import { violationScore, type Property } from './vnnlib.js';

const BATCH = 64;
/** Boxes of each batch (those with the lowest bounds) whose minimizer seeds a descent. */
const DESCENTS = 4;
/** Signed-gradient steps of each of those descents (dense-attack.ts). */
const DESCENT_STEPS = 12;
/** Bisections tried per box by strong branching (the largest smears). */
const SB_CANDIDATES = 5;
/** Relative gain of the best strong-branching candidate below which the widest dimension is split instead. */
const STALL = 1e-5;
/**
 * Largest ratio of relative widths (the box's widest dimension over the one strong branching
 * picked) before the widest is split instead: 1_5/prop_2's lowest boxes were cut to 1e-3 of
 * rho, vx, vy while theta, psi kept half their range, the bound stuck at -58 after 1,900 domains;
 * at 32 its violation turns up after ~2,400 (8: the prop_2 proofs of 1_1, 1_7, 1_8, 1_9 time out;
 * 256: it takes 50 s).
 */
const ANISO = 32;
/** Share of the search's time given to interleaved multi-start PGD (1_6/prop_2: found after ~6 s of it). */
const ATTACK_SHARE = 0.15;
/** About 1.3 KB a domain on ACAS Xu (its parent's bounds shared with a sibling): ~250 MB. */
const MAX_QUEUED = 200_000;
/** Largest group handled (open disjuncts are a bit mask). */
export const MAX_GROUP = 30;

interface Domain {
  lo: Float64Array;
  hi: Float64Array;
  /** Bit g set: disjunct group[g] not yet shown empty here. */
  open: number;
  /** Lower bound of the violation score over the open disjuncts (the parent's, until evaluated). */
  lb: number;
  /**
   * The parent's ReLU input bounds (dense-bounds.ts, 2 x reluCount), rounded outward to float32
   * to halve the memory; shared by siblings; null at the root.
   */
  parent: Float32Array | null;
  /** Set when `open` and `lb` already come from the cheap pass on this box (strong branching). */
  screened?: boolean;
}

export interface InputSplitOptions {
  deadline: number;
  /** Seed of the interleaved multi-start PGD (dense-attack.ts). */
  seed?: number;
  signal?: AbortSignal;
  /** Threads computing the batched bounds (dense-pool.ts; default 1: this thread only). */
  threads?: number;
  onProgress?: (domains: number, queued: number) => void;
}

export interface InputSplitResult {
  /** Per disjunct of the group: the proven lower bound when closed everywhere, else the lowest open bound. */
  lowerBounds: Map<number, number>;
  /** Disjuncts shown empty on their whole box. */
  proved: Set<number>;
  counterexample: Counterexample | null;
  domains: number;
  branched: boolean;
}

export async function inputSplitBab(
  net: DenseNet,
  runner: ModelRunner,
  prop: Property,
  group: number[],
  margins: number[],
  state: SearchState,
  opts: InputSplitOptions,
): Promise<InputSplitResult> {
  const d = net.numInputs;
  const d0 = prop.disjuncts[group[0]!]!;
  const heap = new DomainHeap<Domain>();
  const stack: Domain[] = [];
  const stuck: Domain[] = [];
  if (group.length > MAX_GROUP) throw new Error(`inputSplitBab: at most ${MAX_GROUP} disjuncts per box`);
  heap.push({ lo: d0.lo.slice(), hi: d0.hi.slice(), open: (1 << group.length) - 1, lb: -Infinity, parent: null });
  const closedLB = new Map<number, number>(group.map((i) => [i, Infinity]));
  const result: InputSplitResult = { lowerBounds: new Map(), proved: new Set(), counterexample: null, domains: 0, branched: false };
  const numOut = net.numOutputs;
  const rootWidth = Float64Array.from(d0.lo, (l, j) => d0.hi[j]! - l || 1);
  const P = reluCount(net);
  const pending = new Map<Domain, Array<[number, number]>>();
  const attacks = group.map((i) => new DenseAttack(net, runner, prop.disjuncts[i]!, i, state, (opts.seed ?? 0) + 1));
  const pool = new DensePool(net, opts.threads ?? 1);
  try {
    return await search();
  } finally {
    await pool.close();
  }

  async function search(): Promise<InputSplitResult> {
    let batches = 0;
    while (heap.size > 0 || stack.length > 0) {
      if (Date.now() > opts.deadline || opts.signal?.aborted) break;
      const tBatch = Date.now();
      let batch: Domain[] = [];
      while (batch.length < BATCH && stack.length > 0) batch.push(stack.pop()!);
      while (batch.length < BATCH && heap.size > 0) batch.push(heap.pop()!);
      result.domains += batch.length;
      // Cheap pass first: the parents' intermediate bounds (with IBP) and only the output rows;
      // boxes it closes skip the intermediate CROWN passes, which cost ~20x more.
      const unscreened = batch.filter((dom) => !dom.screened);
      if (unscreened.length > 0) {
        const pre = await boundBatch(unscreened, false);
        for (let b = 0; b < pre.B; b++) unscreened[b]!.open = openAfter(pre, b, unscreened[b]!.open);
      }
      batch = batch.filter((dom) => dom.open !== 0);
      if (batch.length === 0) continue;
      const { B, inherited, rowDom, rowG, rowK, lower, inputCoef } = await boundBatch(batch, true);
      const R = rowDom.length;
      // Per box and open disjunct: the best row (largest lower bound of a.y - b).
      let r = 0;
      const openBoxes: Array<[number, number]> = [];
      const children: Domain[] = [];
      /** Per open box: its candidate bisections (left, right). */
      const candidates: Domain[][][] = [];
      const worstRowOf = new Int32Array(B).fill(-1);
      const worstGOf = new Int32Array(B).fill(-1);
      for (let b = 0; b < B; b++) {
        const dom = batch[b]!;
        let open = 0;
        let boxWorst = Infinity;
        while (r < R && rowDom[r] === b) {
          const g = rowG[r]!;
          const i = group[g]!;
          let best = -Infinity;
          let bestRow = r;
          for (; r < R && rowDom[r] === b && rowG[r] === g; r++) {
            const v = lower[r]! - prop.disjuncts[i]!.constraints[rowK[r]!]!.b;
            if (v > best) (best = v), (bestRow = r);
          }
          if (best > margins[i]!) {
            closedLB.set(i, Math.min(closedLB.get(i)!, best));
            continue;
          }
          open |= 1 << g;
          if (best < boxWorst) (boxWorst = best), (worstRowOf[b] = bestRow), (worstGOf[b] = g);
        }
        if (open === 0) continue;
        const lb = Math.max(boxWorst, dom.lb);
        // The relaxation's minimizer of the worst row is a cheap candidate.
        const wr = worstRowOf[b]!;
        const worstDisjunct = group[worstGOf[b]!]!;
        const x = new Float64Array(d);
        for (let j = 0; j < d; j++) x[j] = inputCoef[wr * d + j]! > 0 ? dom.lo[j]! : dom.hi[j]!;
        const cexMin = await probe(worstDisjunct, x);
        if (cexMin) return { ...finish(), counterexample: cexMin };
        openBoxes.push([lb, b]);
        // Candidate dimensions: the largest smears |coefficient| x width.
        const ranked: Array<[number, number]> = [];
        for (let j = 0; j < d; j++) {
          const w = dom.hi[j]! - dom.lo[j]!;
          if (!(w > 1e-12 * (1 + Math.abs(dom.lo[j]!)))) continue;
          ranked.push([Math.abs(inputCoef[wr * d + j]!) * w + 1e-12 * w, j]);
        }
        if (ranked.length === 0) {
          // Nothing left to split (a point box the bounds cannot close): stays open.
          stuck.push({ ...dom, open, lb });
          continue;
        }
        ranked.sort((p, q) => q[0] - p[0]);
        // The widest dimension relative to the property's box is always tried too: the smear
        // only sees the output row's coefficients, and a dimension that loosens the intermediate
        // bounds can have a tiny one (1_3/prop_1: psi kept its whole half-range while rho was cut
        // to 1e-5 of its width, the bound stuck at -280).
        const tried = ranked.slice(0, SB_CANDIDATES);
        const widest = ranked.reduce((w, c) => ((dom.hi[c[1]]! - dom.lo[c[1]]!) / rootWidth[c[1]]! > (dom.hi[w[1]]! - dom.lo[w[1]]!) / rootWidth[w[1]]! ? c : w));
        if (!tried.includes(widest)) tried.push(widest);
        const parent = new Float32Array(2 * P);
        for (let t = 0; t < P; t++) {
          parent[t] = float32AtMost(inherited[b * 2 * P + t]!);
          parent[P + t] = float32AtLeast(inherited[b * 2 * P + P + t]!);
        }
        const pairs: Domain[][] = [];
        for (const [, j] of tried) {
          const mid = 0.5 * (dom.lo[j]! + dom.hi[j]!);
          // The minimizer moved to the cut is the corner a child's relaxation would likely pick:
          // a probe per candidate, taken or not (1_9/prop_7's violations lie on x3 = mid).
          const xm = x.slice();
          xm[j] = mid;
          const cexMid = await probe(worstDisjunct, xm);
          if (cexMid) return { ...finish(), counterexample: cexMid };
          const left: Domain = { lo: dom.lo, hi: dom.hi.slice(), open, lb, parent };
          left.hi[j] = mid;
          const right: Domain = { lo: dom.lo.slice(), hi: dom.hi, open, lb, parent };
          right.lo[j] = mid;
          pairs.push([left, right]);
        }
        candidates.push(pairs);
      }
      // Strong branching (the input-split counterpart of FSB, De Palma et al. 2021): each candidate
      // bisection's children get the cheap pass (this box's fresh intermediate bounds, IBP, the
      // output rows); the split with the highest sum of its children's bounds, each capped at the
      // proof margin (a closed child counts as the margin), wins, and its children keep that pass's
      // result (children it closes are done). Taking the split whose worse child is highest
      // instead (uncapped) cut 5_7/prop_1 from >3,129 domains to 422 but took 1_7/prop_1 from 47
      // to >1,045; the capped sum: 551 and 37.
      // Bounds above every margin all mean "closed": capped there.
      const cap = Math.max(...group.map((i) => margins[i]!));
      if (candidates.length > 0) {
        const flat = candidates.flat(2);
        const pass = flat.length > 2 * candidates.length ? await boundBatch(flat, false) : null;
        let t = 0;
        for (const pairs of candidates) {
          let best = pairs[0]!;
          let bestKey = -Infinity;
          const parentKey = 2 * Math.min(cap, best[0]!.lb);
          let widest = best;
          for (const pair of pairs) {
            if (pass) for (const c of pair) screen(pass, t++, c);
            const key = pair.reduce((t, c) => t + (c.open === 0 ? cap : Math.min(cap, c.lb)), 0);
            if (key > bestKey) (best = pair), (bestKey = key);
            if (relWidth(pair) > relWidth(widest)) widest = pair;
          }
          // When no candidate's cheap pass (inherited intermediate bounds) gains on the parent
          // beyond STALL relative (1e-3 lost 1_1, 1_7, 1_8, 1_9 on prop_2; 1e-5 keeps them), the looseness is in the intermediate bounds, which the cheap
          // pass cannot see: bisect the relatively widest dimension (1_3/prop_1 otherwise cut rho
          // to 1e-5 of its width for gains of 5e-7 while psi kept half its range, stuck at -33).
          if (Number.isFinite(parentKey) && bestKey - parentKey <= STALL * (1 + Math.abs(parentKey))) best = widest;
          else if (relWidth(best) * ANISO < relWidth(widest)) best = widest;
          for (const c of best) {
            if (c.screened) commit(c);
            if (c.open !== 0) children.push(c);
          }
        }
        // The splits not taken prove nothing and are dropped.
        pending.clear();
      }
      openBoxes.sort((p, q) => p[0] - q[0]);
      for (const [, b] of openBoxes.slice(0, DESCENTS)) {
        const g = worstGOf[b]!;
        const dom = batch[b]!;
        const x0 = new Float64Array(d);
        for (let j = 0; j < d; j++) x0[j] = inputCoef[worstRowOf[b]! * d + j]! > 0 ? dom.lo[j]! : dom.hi[j]!;
        const cex = await descendDense(net, runner, prop.disjuncts[group[g]!]!, group[g]!, dom.lo, dom.hi, x0, DESCENT_STEPS, state);
        if (cex) return { ...finish(), counterexample: cex };
      }
      // Interleaved falsification: ATTACK_SHARE of the time this batch took goes to more PGD
      // starts on the group's disjuncts in turn.
      const attack = attacks[batches++ % attacks.length]!;
      const cexA = await attack.run(Math.min(opts.deadline, Date.now() + ATTACK_SHARE * (Date.now() - tBatch)), opts.signal);
      if (cexA) return { ...finish(), counterexample: cexA };
      if (children.length > 0) result.branched = true;
      for (const c of children) {
        if (heap.size >= MAX_QUEUED) stack.push(c);
        else heap.push(c);
      }
      if (result.domains % (BATCH * 16) < B) opts.onProgress?.(result.domains, heap.size + stack.length);
    }
    return finish();
  }

  /** Bounds of a batch: intermediate bounds (with CROWN, or inherited + IBP only), then one row per (box, open disjunct, constraint). */
  async function boundBatch(batch: Domain[], crown: boolean) {
    const B = batch.length;
    const boxLo = new Float64Array(B * d);
    const boxHi = new Float64Array(B * d);
    const inherited = new Float64Array(B * 2 * P);
    batch.forEach((dom, b) => {
      boxLo.set(dom.lo, b * d);
      boxHi.set(dom.hi, b * d);
      if (dom.parent) inherited.set(dom.parent, b * 2 * P);
      else {
        inherited.fill(-Infinity, b * 2 * P, b * 2 * P + P);
        inherited.fill(Infinity, b * 2 * P + P, (b + 1) * 2 * P);
      }
    });
    const rowDom: number[] = [];
    const rowG: number[] = [];
    const rowK: number[] = [];
    batch.forEach((dom, b) => {
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
    const { lower, inputCoef } = await pool.run({ B, boxLo, boxHi, inherited, crown, dom: Int32Array.from(rowDom), C });
    // Rows of box b: rowStart[b] .. rowStart[b + 1] (rows are in box order).
    const rowStart = new Int32Array(B + 1);
    for (const b of rowDom) rowStart[b + 1]++;
    for (let b = 0; b < B; b++) rowStart[b + 1] += rowStart[b]!;
    return { B, inherited, rowDom, rowG, rowK, rowStart, lower, inputCoef };
  }

  /** The open mask of box b after a bound pass: disjuncts whose best row clears the margin close. */
  function openAfter(pass: Awaited<ReturnType<typeof boundBatch>>, b: number, open: number): number {
    const best = new Float64Array(group.length).fill(-Infinity);
    for (let r = 0; r < pass.rowDom.length; r++) {
      if (pass.rowDom[r] !== b) continue;
      const g = pass.rowG[r]!;
      const v = pass.lower[r]! - prop.disjuncts[group[g]!]!.constraints[pass.rowK[r]!]!.b;
      if (v > best[g]!) best[g] = v;
    }
    let left = open;
    group.forEach((i, g) => {
      if (open & (1 << g) && best[g]! > margins[i]!) {
        closedLB.set(i, Math.min(closedLB.get(i)!, best[g]!));
        left &= ~(1 << g);
      }
    });
    return left;
  }

  /**
   * Box `b` of a cheap pass, as a candidate child `c`: its open mask and bound (kept pending in
   * c.closedBy until the child is chosen, so a split not taken proves nothing).
   */
  function screen(pass: Awaited<ReturnType<typeof boundBatch>>, b: number, c: Domain): void {
    const best = new Float64Array(group.length).fill(-Infinity);
    for (let r = pass.rowStart[b]!; r < pass.rowStart[b + 1]!; r++) {
      const g = pass.rowG[r]!;
      const v = pass.lower[r]! - prop.disjuncts[group[g]!]!.constraints[pass.rowK[r]!]!.b;
      if (v > best[g]!) best[g] = v;
    }
    let open = c.open;
    let worst = Infinity;
    const closed: Array<[number, number]> = [];
    group.forEach((i, g) => {
      if (!(open & (1 << g))) return;
      if (best[g]! > margins[i]!) {
        closed.push([i, best[g]!]);
        open &= ~(1 << g);
      } else worst = Math.min(worst, best[g]!);
    });
    c.open = open;
    c.lb = Math.max(c.lb, worst);
    c.screened = true;
    pending.set(c, closed);
  }

  /** Point x evaluated in Float64 against disjunct i; a violation goes to confirm (ORT decides). */
  async function probe(i: number, x: Float64Array): Promise<Counterexample | null> {
    const disjunct = prop.disjuncts[i]!;
    return violationScore(disjunct, denseForward(net, x)) <= 0 ? confirm(runner, disjunct, i, x, state) : null;
  }

  /** A chosen child: the disjuncts its cheap pass closed count as closed there. */
  function commit(c: Domain): void {
    for (const [i, v] of pending.get(c) ?? []) closedLB.set(i, Math.min(closedLB.get(i)!, v));
    pending.delete(c);
  }

  /** Width of the split dimension of a candidate pair, relative to the property's box. */
  function relWidth(pair: Domain[]): number {
    const [l, r] = pair as [Domain, Domain];
    let j = 0;
    while (j < d && l.hi[j] === r.hi[j]) j++;
    return (r.hi[j]! - l.lo[j]!) / rootWidth[j]!;
  }

  function finish(): InputSplitResult {
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
        if (!result.counterexample) result.proved.add(i);
      }
    }
    return result;
  }
}
