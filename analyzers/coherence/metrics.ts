/**
 * Gradient coherence metrics from streamed per-example statistics (Chatterjee & Zielinski,
 * "Coherent Gradients" ICLR 2020, "Making Coherence Out of Nothing At All", "On the
 * Generalization Mystery in Deep Learning" 2022):
 *   alpha       = ||sum_i g_i||^2 / (m sum_i ||g_i||^2)     in [1/m, 1] when gradients are nonzero
 *   mCoherence  = m alpha = ||sum_i g_i||^2 / sum_i ||g_i||^2 (1: mutually orthogonal, m: identical)
 * Gradient diversity (Yin et al., AISTATS 2018): sum_i ||g_i||^2 / ||sum_i g_i||^2.
 * GSNR (Liu et al., ICLR 2020), per parameter j: mean_i(g_ij)^2 / var_i(g_ij), with the
 * population variance over the m examples; summarized by its mean and median over parameters
 * (parameters with zero variance are left out of the summary).
 * Only sum_i g_i, sum_i ||g_i||^2 and sum_i g_i^2 are kept: never m full gradients.
 */

export interface CoherenceAccumulator {
  m: number;
  sumGrad: Float64Array;
  /** sum_i g_i^2 elementwise; summed over coordinates it is sum_i ||g_i||^2. */
  sqSum: Float64Array;
}

export const newAccumulator = (dim: number): CoherenceAccumulator => ({
  m: 0,
  sumGrad: new Float64Array(dim),
  sqSum: new Float64Array(dim),
});

export interface CoherenceMetrics {
  examples: number;
  alpha: number;
  mCoherence: number;
  gradientDiversity: number;
  /** ||sum g_i||^2 and sum ||g_i||^2, for users who aggregate further. */
  sumGradSqNorm: number;
  sumOfSqNorms: number;
  gsnrMean: number;
  gsnrMedian: number;
}

function norm2(v: Float64Array, from = 0, to = v.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += v[i]! * v[i]!;
  return s;
}

/** Metrics of the coordinates [from, to) (a parameter tensor, or everything). */
export function coherenceOf(acc: CoherenceAccumulator, from = 0, to = acc.sumGrad.length): CoherenceMetrics {
  const m = acc.m;
  let sumOfSqNorms = 0;
  for (let j = from; j < to; j++) sumOfSqNorms += acc.sqSum[j]!;
  const top = norm2(acc.sumGrad, from, to);
  const gsnr: number[] = [];
  for (let j = from; j < to; j++) {
    const mean = acc.sumGrad[j]! / m;
    const variance = acc.sqSum[j]! / m - mean * mean;
    // Relative guard: variances below float rounding of the second moment are zero.
    if (variance > 1e-12 * (acc.sqSum[j]! / m)) gsnr.push((mean * mean) / variance);
  }
  gsnr.sort((a, b) => a - b);
  const mCoherence = sumOfSqNorms > 0 ? top / sumOfSqNorms : 0;
  return {
    examples: m,
    alpha: m > 0 ? mCoherence / m : 0,
    mCoherence,
    gradientDiversity: top > 0 ? sumOfSqNorms / top : Infinity,
    sumGradSqNorm: top,
    sumOfSqNorms,
    gsnrMean: gsnr.length ? gsnr.reduce((s, v) => s + v, 0) / gsnr.length : 0,
    gsnrMedian: gsnr.length ? (gsnr.length % 2 ? gsnr[gsnr.length >> 1]! : (gsnr[gsnr.length / 2 - 1]! + gsnr[gsnr.length / 2]!) / 2) : 0,
  };
}
