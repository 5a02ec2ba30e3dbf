/**
 * The Marchenko–Pastur (MP) law for X = WᵀW / N of an N × M matrix W (N >= M) with i.i.d.
 * zero-mean entries of variance sigma²: as N, M grow with M/N = y, the eigenvalues fill
 * [sigma²(1 - √y)², sigma²(1 + √y)²] (Marchenko & Pastur 1967; the bulk Martin & Mahoney compare
 * each layer's ESD with). A finite matrix's largest eigenvalue fluctuates about the edge on the
 * Tracy–Widom scale (Johnstone, Ann. Statist. 29, 2001, Theorem 1):
 *
 *   (λ_max(WᵀW) / sigma² - mu) / s → TW1,   mu = (√N + √M)²,   s = (√N + √M)(1/√N + 1/√M)^(1/3)
 *
 * so an eigenvalue counts as a spike — structure a random matrix of that shape and scale would not
 * show — only above mu + t·s with t the TW1 99% point (2.0234, Tracy & Widom 1996 tables): a
 * same-shape Gaussian matrix shows a false spike with probability about 1%.
 */

/** Upper 1% point of the Tracy–Widom (beta = 1) distribution. */
export const TW1_Q99 = 2.0234;

export interface MarchenkoPasturEdges {
  /** sigma² used: the mean squared entry of W (the scale of a same-size random matrix). */
  variance: number;
  /** Lower and upper bulk edges of X = WᵀW / N. */
  bulkMin: number;
  bulkMax: number;
  /** bulkMax plus the Tracy–Widom 99% allowance: eigenvalues above it are spikes. */
  spikeThreshold: number;
}

/** MP edges for X = WᵀW / N with W of shape n × m (either order) and mean squared entry `variance`. */
export function marchenkoPasturEdges(n: number, m: number, variance: number): MarchenkoPasturEdges {
  const N = Math.max(n, m);
  const M = Math.min(n, m);
  const y = M / N;
  const sN = Math.sqrt(N);
  const sM = Math.sqrt(M);
  const mu = (sN + sM) ** 2;
  const s = (sN + sM) * Math.cbrt(1 / sN + 1 / sM);
  return {
    variance,
    bulkMin: variance * (1 - Math.sqrt(y)) ** 2,
    bulkMax: variance * (1 + Math.sqrt(y)) ** 2,
    spikeThreshold: (variance * (mu + TW1_Q99 * s)) / N,
  };
}
