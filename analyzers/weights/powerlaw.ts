/**
 * Maximum-likelihood fit of a continuous power law p(x) ∝ x^(-alpha) for x >= xmin to the tail
 * of a sample, with xmin chosen by the Kolmogorov–Smirnov method of Clauset, Shalizi & Newman,
 * "Power-law distributions in empirical data", SIAM Review 51 (2009):
 *
 *   alpha(xmin) = 1 + n / sum_{x_i >= xmin} ln(x_i / xmin)          (CSN eq. 3.1)
 *   stderr      = (alpha - 1) / sqrt(n)                              (CSN eq. 3.2)
 *   D(xmin)     = max_{x >= xmin} |S(x) - P(x)|,  P(x) = 1 - (x / xmin)^(1 - alpha)   (CSN eq. 3.9)
 *
 * and xmin = the sample value that minimizes D. S is the empirical CDF of the tail; the supremum
 * is taken on both sides of each step (S jumps from (k-1)/n to k/n at the k-th smallest tail
 * value). This is the fit WeightWatcher gets from the `powerlaw` package (Alstott et al. 2014).
 */

export interface PowerLawFit {
  alpha: number;
  /** Standard error of alpha, (alpha - 1) / sqrt(tailCount). */
  alphaStdErr: number;
  xmin: number;
  /** KS distance between the tail and the fitted law. */
  ksDistance: number;
  /** Sample values >= xmin (the fitted tail). */
  tailCount: number;
}

/** The MLE exponent of the tail of ascending `sorted` starting at index `start` (x_start is xmin). */
export function powerLawAlpha(sorted: ArrayLike<number>, start: number): number {
  const xmin = sorted[start]!;
  let sum = 0;
  for (let i = start; i < sorted.length; i++) sum += Math.log(sorted[i]! / xmin);
  return 1 + (sorted.length - start) / sum;
}

/** KS distance between the tail sorted[start..] and a power law with this alpha and xmin = sorted[start]. */
export function powerLawKs(sorted: ArrayLike<number>, start: number, alpha: number): number {
  const xmin = sorted[start]!;
  const n = sorted.length - start;
  let d = 0;
  for (let k = 1; k <= n; k++) {
    const p = 1 - Math.pow(sorted[start + k - 1]! / xmin, 1 - alpha);
    d = Math.max(d, k / n - p, p - (k - 1) / n);
  }
  return d;
}

/**
 * Fits the tail of `values` (positive numbers, any order). Every distinct value that leaves at
 * least `minTail` values at or above it is tried as xmin; ties in D go to the smaller xmin (more
 * data). Returns null when no candidate exists (fewer than minTail positive values, or all equal).
 */
export function fitPowerLaw(values: ArrayLike<number>, minTail = 5): PowerLawFit | null {
  const sorted = Float64Array.from(values).filter((v) => v > 0 && Number.isFinite(v)).sort();
  const n = sorted.length;
  // Suffix sums of ln x make each candidate's alpha O(1); the KS scan is O(tail).
  const suffixLog = new Float64Array(n + 1);
  for (let i = n - 1; i >= 0; i--) suffixLog[i] = suffixLog[i + 1]! + Math.log(sorted[i]!);
  let best: PowerLawFit | null = null;
  for (let start = 0; start + minTail <= n; start++) {
    if (start > 0 && sorted[start] === sorted[start - 1]) continue;
    const tail = n - start;
    const logSum = suffixLog[start]! - tail * Math.log(sorted[start]!);
    if (!(logSum > 0)) continue; // every tail value equals xmin: no exponent
    const alpha = 1 + tail / logSum;
    const ks = powerLawKs(sorted, start, alpha);
    if (!best || ks < best.ksDistance) {
      best = { alpha, alphaStdErr: (alpha - 1) / Math.sqrt(tail), xmin: sorted[start]!, ksDistance: ks, tailCount: tail };
    }
  }
  return best;
}
