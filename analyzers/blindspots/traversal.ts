/**
 * Level Set Traversal (Gupta et al., "Exploring Geometry of Blind Spots in Vision Models",
 * NeurIPS 2023), batched over source/target pairs. At x with g = d CE(f(x), s)/dx:
 *   delta      = x_target - x
 *   delta_perp = delta - (<delta, g> / <g, g>) g        (no first-order change of confidence)
 *   x'         = clip(x + stepSize * delta_perp + c, domain)
 * where c is the drift correction: once p_s has fallen below p_s(x0) (second-order drift on a
 * curved level set), c = -advStepSize * g / max|g|, a step along -g bounded element-wise by
 * advStepSize that restores confidence. A step is accepted only where
 * p_s(x0) - p_s(x') < pthresh and the model still predicts s (a blind spot is an input the
 * model treats as the source class); a rejected pair halves its step size and tries again.
 */
import type { ConfidenceEvaluator } from './evaluator.js';

export interface TraversalParams {
  stepSize: number;
  iters: number;
  pthresh: number;
  advStepSize: number;
  lo: number;
  hi: number;
}

export interface TraversalResult {
  x: Float32Array;
  /** Source-class confidence per pair, sampled over the iterations (first = p_s(x0), last = final). */
  confidenceTrace: number[][];
  accepted: Int32Array;
  finalConfidence: Float64Array;
  finalPredicted: Int32Array;
}

/** Confidence below p_s(x0) by more than this counts as drift to correct. */
const DRIFT_TOLERANCE = 1e-4;

export async function traverse(
  ev: ConfidenceEvaluator,
  x0: Float32Array,
  target: Float32Array,
  sources: Int32Array,
  p: TraversalParams,
  onIteration: (done: number) => void,
  signal: AbortSignal,
): Promise<TraversalResult> {
  const n = sources.length;
  const per = x0.length / n;
  const x = x0.slice();
  let state = await ev.evaluate(x, sources);
  const p0 = state.confidence.slice();
  const step = new Float64Array(n).fill(p.stepSize);
  const accepted = new Int32Array(n);
  const every = Math.max(1, Math.floor(p.iters / 50));
  const trace: number[][] = Array.from({ length: n }, (_, i) => [p0[i]!]);
  const proposal = new Float32Array(x.length);
  for (let it = 0; it < p.iters; it++) {
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('cancelled');
    const g = state.grad!;
    for (let b = 0; b < n; b++) {
      const o = b * per;
      let dot = 0;
      let gg = 0;
      let gmax = 0;
      for (let k = o; k < o + per; k++) {
        const d = target[k]! - x[k]!;
        dot += d * g[k]!;
        gg += g[k]! * g[k]!;
        gmax = Math.max(gmax, Math.abs(g[k]!));
      }
      const coef = gg > 0 ? dot / gg : 0;
      const drifted = state.confidence[b]! < p0[b]! - DRIFT_TOLERANCE && gmax > 0;
      const corr = drifted ? -p.advStepSize / gmax : 0;
      for (let k = o; k < o + per; k++) {
        const perp = target[k]! - x[k]! - coef * g[k]!;
        const v = x[k]! + step[b]! * perp + corr * g[k]!;
        proposal[k] = v < p.lo ? p.lo : v > p.hi ? p.hi : v;
      }
    }
    const next = await ev.evaluate(proposal, sources);
    for (let b = 0; b < n; b++) {
      if (p0[b]! - next.confidence[b]! < p.pthresh && next.predicted[b] === sources[b]) {
        x.set(proposal.subarray(b * per, (b + 1) * per), b * per);
        state.confidence[b] = next.confidence[b]!;
        state.predicted[b] = next.predicted[b]!;
        state.grad!.set(next.grad!.subarray(b * per, (b + 1) * per), b * per);
        accepted[b]++;
      } else {
        step[b] = Math.max(step[b]! / 2, p.stepSize / 64);
      }
      if ((it + 1) % every === 0 || it + 1 === p.iters) trace[b]!.push(state.confidence[b]!);
    }
    onIteration(it + 1);
  }
  state = await ev.evaluate(x, sources, false);
  return { x, confidenceTrace: trace, accepted, finalConfidence: state.confidence, finalPredicted: state.predicted };
}
