/**
 * Falsification on the dense form (dense.ts) for networks with few inputs: many random starts of
 * projected signed-gradient descent (PGD, Madry et al. 2018) on the violation score
 * max_k (a_k.y - b_k), in Float64 in this thread (an ACAS Xu forward pass is ~13k multiply-adds,
 * so thousands of steps a second, against one ORT call per point in falsify.ts). Only a point that
 * violates in Float64, or comes within NEAR of it, is run through falsify.ts:confirm (ORT on the
 * float32 input decides; nothing here can make a verdict "violated").
 */
import { Rng } from '../../common/random.js';
import { denseForward, denseGradient, type DenseNet } from './dense.js';
import { confirm, type Counterexample, type SearchState } from './falsify.js';
import type { ModelRunner } from './runner.js';
import type { Disjunct } from './vnnlib.js';

/** Candidates this close to violating (relative to the output scale) also go to ORT: float32 may tip them over. */
const NEAR = 1e-6;
/** A polishing descent from the best point every POLISH_EVERY starts, POLISH_STEPS steps long. */
const POLISH_EVERY = 64;
const POLISH_STEPS = 200;

/** max_k (a_k.y - b_k) and the index of the active constraint. */
function score(d: Disjunct, y: Float64Array): { v: number; k: number } {
  let v = -Infinity;
  let k = 0;
  d.constraints.forEach((c, i) => {
    let s = -c.b;
    for (let j = 0; j < c.a.length; j++) s += c.a[j]! * y[j]!;
    if (s > v) (v = s), (k = i);
  });
  return { v, k };
}

export interface DenseAttackOptions {
  deadline: number;
  seed: number;
  /** Descent steps per start. */
  steps?: number;
  /** Starting points to try at most (random, after the centre and the corners of the box's main diagonal). */
  starts?: number;
  signal?: AbortSignal;
}

/** PGD from `x0` inside [lo, hi]: the confirmed counterexample, or null; the best score seen goes to `best`. */
export async function descendDense(
  net: DenseNet,
  runner: ModelRunner,
  d: Disjunct,
  index: number,
  lo: ArrayLike<number>,
  hi: ArrayLike<number>,
  x0: ArrayLike<number>,
  steps: number,
  state: SearchState,
  /** Step sizes as fractions of the box width, first and last (geometric in between). */
  fracs: readonly [number, number] = [0.25, 0.25 / 256],
  /** When given, keeps the lowest-scoring point seen here across calls. */
  keep?: { x: Float64Array | null; v: number },
): Promise<Counterexample | null> {
  const n = net.numInputs;
  const x = Float64Array.from(x0);
  let bestV = Infinity;
  let bestX: Float64Array | null = null;
  for (let s = 0; s <= steps; s++) {
    const y = denseForward(net, x);
    const { v } = score(d, y);
    if (v < bestV) (bestV = v), (bestX = x.slice());
    if (v <= 0) break;
    if (s === steps) break;
    // Descend on the sum of the violated constraints' hinges (every unmet a_k.y <= b_k pulls; on
    // the active one alone the descent zigzags between constraints on ACAS Xu prop_2).
    const a = new Float64Array(net.numOutputs);
    for (const c of d.constraints) {
      let t = -c.b;
      for (let j = 0; j < c.a.length; j++) t += c.a[j]! * y[j]!;
      if (t > 0) for (let j = 0; j < c.a.length; j++) a[j] += c.a[j]!;
    }
    const g = denseGradient(net, x, a);
    const frac = fracs[0] * Math.pow(fracs[1] / fracs[0], s / Math.max(1, steps - 1));
    for (let j = 0; j < n; j++) {
      const w = hi[j]! - lo[j]!;
      x[j] = Math.min(hi[j]!, Math.max(lo[j]!, x[j]! - Math.sign(g[j]!) * frac * w));
    }
  }
  state.gradientSteps += steps;
  if (keep && bestX && bestV < keep.v) (keep.v = bestV), (keep.x = bestX);
  if (bestX) {
    let ymax = 1;
    for (const v of denseForward(net, bestX)) ymax = Math.max(ymax, Math.abs(v));
    if (bestV <= NEAR * ymax) return confirm(runner, d, index, bestX, state);
    state.best[index] = Math.min(state.best[index]!, bestV);
  }
  return null;
}

/**
 * Multi-start PGD over one disjunct's box that can be resumed: each run() goes on with the next
 * starts until its deadline (the input-splitting search gives it slices between batches).
 */
export class DenseAttack {
  private readonly rng: Rng;
  private t = 0;
  private readonly best: { x: Float64Array | null; v: number } = { x: null, v: Infinity };
  constructor(
    private readonly net: DenseNet,
    private readonly runner: ModelRunner,
    private readonly d: Disjunct,
    private readonly index: number,
    private readonly state: SearchState,
    seed: number,
    private readonly steps = 40,
  ) {
    this.rng = new Rng(seed * 104729 + index + 7);
  }

  async run(deadline: number, signal?: AbortSignal, maxStarts = Infinity): Promise<Counterexample | null> {
    const { net, runner, d, index, state, best } = this;
    const x = new Float64Array(net.numInputs);
    for (let started = 0; started < maxStarts; started++, this.t++) {
      if (Date.now() > deadline || signal?.aborted) break;
      const t = this.t;
      for (let j = 0; j < x.length; j++) {
        const l = d.lo[j]!;
        const u = d.hi[j]!;
        x[j] = t === 0 ? 0.5 * (l + u) : t === 1 ? l : t === 2 ? u : this.rng.uniform(l, u);
      }
      let cex = await descendDense(net, runner, d, index, d.lo, d.hi, x, this.steps, state, undefined, best);
      if (cex) return cex;
      // Now and then polish the best point so far with ever finer steps (down to 1e-7 of the
      // width): 1_6/prop_2's violations lie in a sliver the coarse steps keep jumping over.
      if (t % POLISH_EVERY === POLISH_EVERY - 1 && best.x) {
        cex = await descendDense(net, runner, d, index, d.lo, d.hi, best.x, POLISH_STEPS, state, [1 / 64, 1e-7], best);
        if (cex) return cex;
      }
    }
    return null;
  }
}

/** Multi-start PGD over the disjunct's box until the deadline or the starts are used up. */
export function attackDense(net: DenseNet, runner: ModelRunner, d: Disjunct, index: number, state: SearchState, opts: DenseAttackOptions): Promise<Counterexample | null> {
  return new DenseAttack(net, runner, d, index, state, opts.seed, opts.steps).run(opts.deadline, opts.signal, opts.starts);
}
