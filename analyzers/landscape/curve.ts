/**
 * Mode connectivity along a quadratic Bezier curve (Garipov et al. 2018, "Loss Surfaces, Mode
 * Connectivity, and Fast Ensembling of DNNs", Sec. 3):
 *   phi(t) = (1 - t)^2 w0 + 2 t (1 - t) theta + t^2 w1,   t in [0, 1],
 * with the end points fixed and the bend theta trained to minimise E_{t ~ U(0,1)} L(phi(t)):
 * for each minibatch a fresh t is drawn and, by the chain rule,
 *   d L(phi(t)) / d theta = 2 t (1 - t) grad L(phi(t)).
 * The bend starts at the midpoint (w0 + w1) / 2, where the curve is the straight line.
 */
import { Rng } from '../../common/random.js';

/** phi(t) into out. */
export function bezierPoint(t: number, w0: Float64Array, bend: Float64Array, w1: Float64Array, out: Float64Array): Float64Array {
  const a = (1 - t) * (1 - t);
  const b = 2 * t * (1 - t);
  const c = t * t;
  for (let i = 0; i < out.length; i++) out[i] = a * w0[i]! + b * bend[i]! + c * w1[i]!;
  return out;
}

/** (1 - t) w0 + t w1 into out. */
export function linearPoint(t: number, w0: Float64Array, w1: Float64Array, out: Float64Array): Float64Array {
  for (let i = 0; i < out.length; i++) out[i] = (1 - t) * w0[i]! + t * w1[i]!;
  return out;
}

export interface BendTraining {
  bend: Float64Array;
  /** Mean of the minibatch losses L(phi(t)) seen in each epoch (a stochastic estimate of the curve loss). */
  epochLosses: number[];
  steps: number;
}

export interface BendOptions {
  epochs: number;
  lr: number;
  /** Minibatches per epoch; gradient(theta, k) is called with k in [0, batches). */
  batches: number;
  /** Classical momentum (Garipov et al. train curves with SGD, momentum 0.9); 0 = plain SGD. */
  momentum: number;
  seed: number;
}

/**
 * SGD on the bend. `gradient(theta, k)` returns the loss and its gradient at parameters theta on
 * minibatch k (the project's gradient graph through LossRunner).
 */
export async function trainBend(
  w0: Float64Array,
  w1: Float64Array,
  opts: BendOptions,
  gradient: (theta: Float64Array, batch: number) => Promise<{ loss: number; grad: Float64Array }>,
  onStep?: (step: number, total: number) => void,
): Promise<BendTraining> {
  const n = w0.length;
  const bend = new Float64Array(n);
  for (let i = 0; i < n; i++) bend[i] = (w0[i]! + w1[i]!) / 2;
  const velocity = new Float64Array(n);
  const point = new Float64Array(n);
  const rng = new Rng(opts.seed);
  const epochLosses: number[] = [];
  const total = opts.epochs * opts.batches;
  let steps = 0;
  for (let e = 0; e < opts.epochs; e++) {
    let sum = 0;
    for (let k = 0; k < opts.batches; k++) {
      const t = rng.next();
      const { loss, grad } = await gradient(bezierPoint(t, w0, bend, w1, point), k);
      sum += loss;
      const scale = 2 * t * (1 - t);
      for (let i = 0; i < n; i++) {
        velocity[i] = opts.momentum * velocity[i]! + scale * grad[i]!;
        bend[i] = bend[i]! - opts.lr * velocity[i]!;
      }
      onStep?.(++steps, total);
    }
    epochLosses.push(sum / Math.max(1, opts.batches));
  }
  return { bend, epochLosses, steps };
}
