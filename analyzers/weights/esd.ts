/**
 * Heavy-Tailed Self-Regularization metrics of one layer's empirical spectral density (ESD): the
 * eigenvalues λ = σ²/N of X = WᵀW / N (Martin & Mahoney, JMLR 22 (2021) §3; "Predicting trends
 * in the quality of state-of-the-art neural networks without access to training or testing
 * data", Nature Communications 12 (2021) 4122), named as WeightWatcher names them:
 *
 *   alpha            power-law exponent of the ESD tail (powerlaw.ts)
 *   alphaWeighted    alpha · log10 λ_max                              (alpha-hat, Nat. Commun. eq. 4)
 *   logSpectralNorm  log10 λ_max  (= log10 ‖W‖₂² / N)
 *   logNorm          log10 Σλ     (= log10 ‖W‖_F² / N)
 *   logAlphaNorm     log10 Σλ^alpha  (the Schatten alpha-norm, Nat. Commun. eq. 5)
 *   stableRank       Σλ / λ_max   (= ‖W‖_F² / ‖W‖₂²)
 *   mpSoftrank       λ_+ / λ_max, λ_+ the MP bulk edge of a random matrix of W's shape and scale
 *   numSpikes        eigenvalues above that bulk edge plus its Tracy–Widom allowance (marchenko-pastur.ts)
 */
import { fitPowerLaw } from './powerlaw.js';
import type { MarchenkoPasturEdges } from './marchenko-pastur.js';

export interface EsdMetrics {
  eigenvalueCount: number;
  lambdaMax: number;
  lambdaMin: number;
  /** null when the ESD has fewer than minEigenvalues eigenvalues or no tail can be fitted. */
  alpha: number | null;
  alphaStdErr: number | null;
  xmin: number | null;
  ksDistance: number | null;
  tailCount: number;
  alphaWeighted: number | null;
  logSpectralNorm: number;
  logNorm: number;
  logAlphaNorm: number | null;
  stableRank: number;
  mpSoftrank: number;
  numSpikes: number;
}

export interface EsdOptions {
  minEigenvalues: number;
  minTail: number;
}

/**
 * Metrics of the eigenvalues `lambdas` (any order). `trace` is Σλ over the whole spectrum
 * (‖W‖_F² / N), passed in because a randomized SVD sees only the top eigenvalues.
 */
export function esdMetrics(lambdas: Float64Array, trace: number, mp: MarchenkoPasturEdges, opts: EsdOptions): EsdMetrics {
  let lambdaMax = 0;
  let lambdaMin = Infinity;
  let numSpikes = 0;
  for (const l of lambdas) {
    lambdaMax = Math.max(lambdaMax, l);
    lambdaMin = Math.min(lambdaMin, l);
    if (l > mp.spikeThreshold) numSpikes++;
  }
  const fit = lambdas.length >= opts.minEigenvalues ? fitPowerLaw(lambdas, opts.minTail) : null;
  const logSpectralNorm = Math.log10(lambdaMax);
  let alphaNorm = 0;
  if (fit) for (const l of lambdas) alphaNorm += Math.pow(l, fit.alpha);
  return {
    eigenvalueCount: lambdas.length,
    lambdaMax,
    lambdaMin: lambdas.length ? lambdaMin : 0,
    alpha: fit?.alpha ?? null,
    alphaStdErr: fit?.alphaStdErr ?? null,
    xmin: fit?.xmin ?? null,
    ksDistance: fit?.ksDistance ?? null,
    tailCount: fit?.tailCount ?? 0,
    alphaWeighted: fit ? fit.alpha * logSpectralNorm : null,
    logSpectralNorm,
    logNorm: Math.log10(trace),
    logAlphaNorm: fit ? Math.log10(alphaNorm) : null,
    stableRank: trace / lambdaMax,
    mpSoftrank: mp.bulkMax / lambdaMax,
    numSpikes,
  };
}

/**
 * Jensen–Shannon distance (base 2, in [0, 1]) between two ESDs, as histograms of log10 λ on
 * shared bins — WeightWatcher's `rand_distance` between a layer's ESD and its shuffled control.
 */
export function esdDistance(a: Float64Array, b: Float64Array, bins = 100): number {
  const logs = (v: Float64Array) => Array.from(v, (x) => Math.log10(x)).filter(Number.isFinite);
  const la = logs(a);
  const lb = logs(b);
  if (la.length === 0 || lb.length === 0) return 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of [...la, ...lb]) {
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
  }
  const width = (hi - lo) / bins || 1;
  const hist = (xs: number[]) => {
    const h = new Float64Array(bins);
    for (const x of xs) h[Math.min(bins - 1, Math.floor((x - lo) / width))]! += 1 / xs.length;
    return h;
  };
  const p = hist(la);
  const q = hist(lb);
  let js = 0;
  for (let i = 0; i < bins; i++) {
    const m = (p[i]! + q[i]!) / 2;
    if (p[i]! > 0) js += 0.5 * p[i]! * Math.log2(p[i]! / m);
    if (q[i]! > 0) js += 0.5 * q[i]! * Math.log2(q[i]! / m);
  }
  return Math.sqrt(Math.max(0, js));
}
