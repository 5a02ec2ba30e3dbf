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
): Promise<Counterexample | null> {
  const n = net.numInputs;
  const x = Float64Array.from(x0);
  let bestV = Infinity;
  let bestX: Float64Array | null = null;
  for (let s = 0; s <= steps; s++) {
    const y = denseForward(net, x);
    const { v, k } = score(d, y);
    if (v < bestV) (bestV = v), (bestX = x.slice());
    if (v <= 0) break;
    if (s === steps) break;
    const g = denseGradient(net, x, d.constraints[k]!.a);
    // Step from a quarter of the width down to 1/64 of it (geometric).
    const frac = 0.25 * Math.pow(1 / 16, s / Math.max(1, steps - 1));
    for (let j = 0; j < n; j++) {
      const w = hi[j]! - lo[j]!;
      x[j] = Math.min(hi[j]!, Math.max(lo[j]!, x[j]! - Math.sign(g[j]!) * frac * w));
    }
  }
  state.gradientSteps += steps;
  if (bestX) {
    let ymax = 1;
    for (const v of denseForward(net, bestX)) ymax = Math.max(ymax, Math.abs(v));
    if (bestV <= NEAR * ymax) return confirm(runner, d, index, bestX, state);
    state.best[index] = Math.min(state.best[index]!, bestV);
  }
  return null;
}

/** Multi-start PGD over the disjunct's box until the deadline or the starts are used up. */
export async function attackDense(net: DenseNet, runner: ModelRunner, d: Disjunct, index: number, state: SearchState, opts: DenseAttackOptions): Promise<Counterexample | null> {
  const rng = new Rng(opts.seed * 104729 + index + 7);
  const n = net.numInputs;
  const steps = opts.steps ?? 40;
  const starts = opts.starts ?? 100_000;
  const x = new Float64Array(n);
  for (let t = 0; t < starts; t++) {
    if (Date.now() > opts.deadline || opts.signal?.aborted) break;
    for (let j = 0; j < n; j++) {
      const l = d.lo[j]!;
      const u = d.hi[j]!;
      x[j] = t === 0 ? 0.5 * (l + u) : t === 1 ? l : t === 2 ? u : rng.uniform(l, u);
    }
    const cex = await descendDense(net, runner, d, index, d.lo, d.hi, x, steps, state);
    if (cex) return cex;
  }
  return null;
}
