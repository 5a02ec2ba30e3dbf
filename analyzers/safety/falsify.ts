/**
 * Counterexample search and confirmation.
 * Search: the box centre, random points, box corners picked by the gradient sign (FGSM), a grid
 * when the input has at most 3 dimensions, then projected gradient descent (Madry et al. 2018)
 * on the violation score max_k (a_k.y - b_k) with input gradients from the vjpGraph session.
 * Confirmation: the candidate is rounded to float32 inside the box and run through the plain
 * forward session; it counts only if that output satisfies every unsafe constraint of its
 * disjunct (strict ones strictly). Nothing else can make a verdict "violated".
 */
import { Rng } from '../../common/random.js';
import type { ModelRunner } from './runner.js';
import { toFloat32In } from './runner.js';
import { satisfiesAll, violationScore, type Disjunct } from './vnnlib.js';

export interface Counterexample {
  disjunct: number;
  input: Float32Array;
  output: Float64Array;
  /** max_k (a_k.y - b_k) at the counterexample (<= 0). */
  score: number;
}

export interface SearchState {
  /** Lowest violation score seen per disjunct (the search's upper bound on the true minimum). */
  best: Float64Array;
  evaluations: number;
  gradientSteps: number;
}

export function newSearchState(disjuncts: number): SearchState {
  return { best: new Float64Array(disjuncts).fill(Infinity), evaluations: 0, gradientSteps: 0 };
}

/** Runs x (any reals) through ORT as float32 inside the disjunct's box; the counterexample when it violates. */
export async function confirm(runner: ModelRunner, d: Disjunct, index: number, x: ArrayLike<number>, state?: SearchState): Promise<Counterexample | null> {
  const x32 = toFloat32In(x, d.lo, d.hi);
  for (let j = 0; j < x32.length; j++) if (!(x32[j]! >= d.lo[j]! && x32[j]! <= d.hi[j]!)) return null;
  const y = await runner.forward(x32);
  const score = violationScore(d, y);
  if (state) {
    state.evaluations++;
    state.best[index] = Math.min(state.best[index]!, score);
  }
  return satisfiesAll(d, y) ? { disjunct: index, input: x32, output: y, score } : null;
}

export interface FalsifyOptions {
  deadline: number;
  seed: number;
  signal?: AbortSignal;
  restarts?: number;
  steps?: number;
}

/** Searches one disjunct until the deadline or the restarts are used up. */
export async function falsify(runner: ModelRunner, d: Disjunct, index: number, state: SearchState, opts: FalsifyOptions): Promise<Counterexample | null> {
  const rng = new Rng(opts.seed * 7919 + index + 1);
  const n = d.lo.length;
  const timeUp = () => Date.now() > opts.deadline || opts.signal?.aborted === true;
  const centre = new Float64Array(n);
  for (let j = 0; j < n; j++) centre[j] = 0.5 * (d.lo[j]! + d.hi[j]!);
  let cex = await confirm(runner, d, index, centre, state);
  if (cex) return cex;
  if (n <= 3) {
    // Grid: 9 points per axis for 1-D and 2-D inputs, 5 for 3-D.
    const per = n <= 2 ? 9 : 5;
    const total = per ** n;
    for (let t = 0; t < total && !timeUp(); t++) {
      const x = new Float64Array(n);
      let r = t;
      for (let j = 0; j < n; j++) {
        x[j] = d.lo[j]! + ((r % per) / (per - 1)) * (d.hi[j]! - d.lo[j]!);
        r = Math.floor(r / per);
      }
      if ((cex = await confirm(runner, d, index, x, state))) return cex;
    }
  }
  for (let t = 0; t < 16 && !timeUp(); t++) {
    const x = new Float64Array(n);
    for (let j = 0; j < n; j++) x[j] = rng.uniform(d.lo[j]!, d.hi[j]!);
    if ((cex = await confirm(runner, d, index, x, state))) return cex;
  }
  if (!runner.hasGradients || d.constraints.length === 0) return null;
  const restarts = opts.restarts ?? 10;
  const steps = opts.steps ?? 60;
  for (let r = 0; r < restarts && !timeUp(); r++) {
    const x = new Float64Array(n);
    if (r === 0) x.set(centre);
    else for (let j = 0; j < n; j++) x[j] = rng.uniform(d.lo[j]!, d.hi[j]!);
    if ((cex = await pgd(runner, d, index, x, steps, state, timeUp))) return cex;
  }
  return null;
}

/** Signed-gradient steps on max_k (a_k.y - b_k), step size decaying from 1/4 to 1/64 of the box width. */
async function pgd(
  runner: ModelRunner,
  d: Disjunct,
  index: number,
  x: Float64Array,
  steps: number,
  state: SearchState,
  timeUp: () => boolean,
): Promise<Counterexample | null> {
  const n = x.length;
  const seed = new Float64Array(runner.numOutputs);
  let k = 0;
  for (let s = 0; s < steps && !timeUp(); s++) {
    const x32 = toFloat32In(x, d.lo, d.hi);
    // Gradient of the active constraint (the one furthest from holding); when the active one
    // changed since the last step, one more run for the right seed.
    seed.set(d.constraints[k]!.a);
    let { y, g } = await runner.gradient(x32, seed);
    const [kNow, worst] = activeConstraint(d, y);
    state.best[index] = Math.min(state.best[index]!, worst);
    if (worst <= 0) {
      const cex = await confirm(runner, d, index, x32, state);
      if (cex) return cex;
    }
    if (kNow !== k) {
      k = kNow;
      seed.set(d.constraints[k]!.a);
      ({ y, g } = await runner.gradient(x32, seed));
    }
    state.gradientSteps++;
    const frac = 0.25 * Math.pow(1 / 16, s / Math.max(1, steps - 1));
    for (let j = 0; j < n; j++) {
      const w = d.hi[j]! - d.lo[j]!;
      const step = g[j]! > 0 ? -frac * w : g[j]! < 0 ? frac * w : 0;
      x[j] = Math.min(d.hi[j]!, Math.max(d.lo[j]!, x[j]! + step));
    }
  }
  return confirm(runner, d, index, x, state);
}

function activeConstraint(d: Disjunct, y: Float64Array): [number, number] {
  let k = 0;
  let worst = -Infinity;
  d.constraints.forEach((c, i) => {
    let v = -c.b;
    for (let j = 0; j < c.a.length; j++) v += c.a[j]! * y[j]!;
    if (v > worst) (worst = v), (k = i);
  });
  return [k, worst];
}
