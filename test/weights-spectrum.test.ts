/**
 * The weights analyzer's numerics against known answers: matrices built as U·diag(s)·Vᵀ with
 * random orthogonal U, V (so the eigenvalues are s²/N by construction), the Clauset–Shalizi–Newman
 * fit against a hand computation and a brute-force likelihood/KS scan, Pareto samples of known
 * exponent, Gaussian matrices (Marchenko–Pastur: no spikes, no heavy tail) and planted spikes
 * (Benaych-Georges & Nadakuditi's outlier positions).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Matrix, QrDecomposition } from 'ml-matrix';
import { Rng } from '../common/random.js';
import { fitPowerLaw, powerLawKs } from '../analyzers/weights/powerlaw.js';
import { marchenkoPasturEdges } from '../analyzers/weights/marchenko-pastur.js';
import { esdDistance } from '../analyzers/weights/esd.js';
import { analyzeLayer, esdOf, type SpectrumOptions } from '../analyzers/weights/layer.js';
import { kernelMatrices, type WeightMatrices } from '../analyzers/weights/matrices.js';
import { randomizedSingularValues, toMatrix } from '../analyzers/weights/svd.js';
import { openMatMul } from '../native/runtime/matmul.js';

const options = (over: Partial<SpectrumOptions> = {}): SpectrumOptions => ({
  minEigenvalues: 10, minTail: 5, maxFullDim: 4096, topK: 64, shuffledControl: true, rng: new Rng(3), ...over,
});

/** n × k with orthonormal columns: Q of the QR decomposition of a Gaussian matrix (Haar-distributed). */
function orthonormal(n: number, k: number, rng: Rng): Matrix {
  const g = new Matrix(n, k);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) g.set(i, j, rng.normal());
  return new QrDecomposition(g).orthogonalMatrix;
}

/** Row-major N × M matrix U·diag(s)·Vᵀ (M = s.length <= N). */
function withSingularValues(n: number, s: number[], rng: Rng): Float64Array {
  const m = s.length;
  const u = orthonormal(n, m, rng);
  const v = orthonormal(m, m, rng);
  const us = u.clone();
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) us.set(i, j, u.get(i, j) * s[j]!);
  return Float64Array.from(us.mmul(v.transpose()).to1DArray());
}

const gaussian = (count: number, rng: Rng, sd = 1) => Float64Array.from({ length: count }, () => sd * rng.normal());

const layerOf = (data: Float64Array, rows: number, cols: number, name = 'W'): WeightMatrices => ({
  name, node: 'n', opType: 'Gemm', tensorShape: [rows, cols], rows, cols, matrices: [data], entries: data,
});

const close = (a: number, b: number, rel: number, what: string) => assert.ok(Math.abs(a - b) <= rel * Math.abs(b), `${what}: ${a} vs ${b} (rel ${rel})`);

test('eigenvalues of U·diag(s)·Vᵀ are s²/N, and the norms follow from s', async () => {
  const rng = new Rng(11);
  const n = 120;
  const s = Array.from({ length: 40 }, (_, i) => 0.1 + 3 * Math.exp(-i / 7));
  const w = withSingularValues(n, s, rng);
  for (const [rows, cols, data] of [[n, 40, w], [40, n, Float64Array.from(toMatrix(w, n, 40).transpose().to1DArray())]] as const) {
    const { lambdas, method } = await esdOf([data], rows, cols, options());
    assert.equal(method, 'full');
    const expected = s.map((x) => (x * x) / n).sort((a, b) => b - a);
    assert.equal(lambdas.length, 40);
    lambdas.forEach((l, i) => close(l, expected[i]!, 1e-10, `λ${i}`));
  }
  const { spectrum: l } = await analyzeLayer(layerOf(w, n, 40), options());
  const sum = s.reduce((a, x) => a + (x * x) / n, 0);
  const top = (s[0]! * s[0]!) / n;
  close(l.lambdaMax, top, 1e-10, 'lambdaMax');
  close(l.logSpectralNorm, Math.log10(top), 1e-10, 'logSpectralNorm');
  close(l.logNorm, Math.log10(sum), 1e-10, 'logNorm');
  close(l.stableRank, sum / top, 1e-10, 'stableRank');
  assert.ok(l.alpha !== null);
  close(l.alphaWeighted!, l.alpha * Math.log10(top), 1e-12, 'alphaWeighted');
  close(l.logAlphaNorm!, Math.log10(s.reduce((a, x) => a + ((x * x) / n) ** l.alpha!, 0)), 1e-9, 'logAlphaNorm');
  assert.equal(l.n, n);
  assert.equal(l.m, 40);
});

test('randomized SVD recovers the top singular values of a matrix with a known spectrum', async () => {
  const rng = new Rng(12);
  const s = Array.from({ length: 150 }, (_, i) => 10 * Math.pow(i + 1, -0.8));
  const w = withSingularValues(300, s, rng);
  const matmul = await openMatMul();
  try {
  const top = await randomizedSingularValues(w, 300, 150, { k: 20, rng: new Rng(1), matmul });
  assert.equal(top.length, 20);
  // Halko et al. (2011) §10.4: with q power iterations the error in σ_j shrinks like
  // (σ_{k+p+1}/σ_j)^(2q+1); here σ ∝ j^-0.8, k + p = 30, q = 2, so that factor is 1 % for
  // j <= 10 and 17 % at j = 20: the first ten within 0.5 %, all twenty within 2 %.
  top.forEach((v, i) => close(v, s[i]!, i < 10 ? 5e-3 : 2e-2, `σ${i}`));
  const { spectrum } = await analyzeLayer(layerOf(w, 300, 150), options({ maxFullDim: 100, topK: 20, shuffledControl: false, matmul }));
  assert.equal(spectrum.svdMethod, 'randomized');
  assert.equal(spectrum.eigenvalueCount, 20);
  // The trace stays exact: it comes from the entries, not from the partial spectrum.
  close(spectrum.stableRank, s.reduce((a, x) => a + x * x, 0) / (s[0]! * s[0]!), 1e-3, 'stableRank');
  // Rank 5 < k + p: YᵀY is singular, CholeskyQR cannot run and Householder QR takes over.
  const low = withSingularValues(300, [5, 4, 3, 2, 1, ...Array(145).fill(0)], rng);
  const lowTop = await randomizedSingularValues(low, 300, 150, { k: 20, rng: new Rng(2), matmul });
  [5, 4, 3, 2, 1].forEach((v, i) => close(lowTop[i]!, v, 1e-8, `rank-5 σ${i}`));
  assert.ok(lowTop.slice(5).every((v) => v < 1e-6), 'the rest vanish');
  } finally {
    await matmul.release();
  }
  await assert.rejects(analyzeLayer(layerOf(w, 300, 150), options({ maxFullDim: 100 })), /needs a matrix product/);
});

test('CSN fit of {1, e, e²} by hand: xmin 1, alpha 2, KS 1/3', async () => {
  // xmin = 1: n = 3, Σ ln x = 0 + 1 + 2 = 3, alpha = 1 + 3/3 = 2, P(x) = 1 - 1/x.
  //   steps at 1, e, e²: max(1/3 - 0, 2/3 - (1 - 1/e), (1 - 1/e) - 1/3, 1 - (1 - e⁻²), (1 - e⁻²) - 2/3) = 1/3.
  // xmin = e: n = 2, Σ ln(x/e) = 1, alpha = 3, P(x) = 1 - (x/e)⁻²: D = max(1/2, (1 - e⁻²) - 1/2) = 1/2.
  const fit = fitPowerLaw([Math.E ** 2, 1, Math.E], 2)!;
  assert.equal(fit.xmin, 1);
  close(fit.alpha, 2, 1e-12, 'alpha');
  close(fit.ksDistance, 1 / 3, 1e-12, 'KS');
  assert.equal(fit.tailCount, 3);
  close(fit.alphaStdErr, 1 / Math.sqrt(3), 1e-12, 'stderr');
  close(powerLawKs([1, Math.E, Math.E ** 2], 1, 3), 0.5, 1e-12, 'KS at xmin = e');
  assert.equal(fitPowerLaw([2, 2, 2], 2), null, 'equal values have no exponent');
  assert.equal(fitPowerLaw([1, 2], 5), null, 'fewer values than minTail');
});

test('CSN fit agrees with a brute-force likelihood maximization and KS scan', async () => {
  const rng = new Rng(21);
  const sample = Array.from({ length: 40 }, () => Math.exp(rng.normal()) + (rng.next() < 0.3 ? 5 * Math.pow(1 - rng.next(), -1 / 1.5) : 0));
  const sorted = [...sample].sort((a, b) => a - b);
  let best = { d: Infinity, alpha: 0, xmin: 0 };
  for (let i = 0; i + 5 <= sorted.length; i++) {
    const tail = sorted.slice(i);
    const xmin = tail[0]!;
    // Maximize the log-likelihood n ln(a-1) - n ln xmin - a Σ ln(x/xmin) by golden-section search.
    const ll = (a: number) => tail.length * Math.log(a - 1) - tail.length * Math.log(xmin) - a * tail.reduce((s, x) => s + Math.log(x / xmin), 0);
    let [lo, hi] = [1.000001, 50];
    for (let it = 0; it < 200; it++) {
      const m1 = hi - (hi - lo) / 1.618034;
      const m2 = lo + (hi - lo) / 1.618034;
      if (ll(m1) < ll(m2)) lo = m1;
      else hi = m2;
    }
    const alpha = (lo + hi) / 2;
    // KS: the empirical CDF just after and just before each point.
    let d = 0;
    tail.forEach((x, k) => {
      const p = 1 - Math.pow(x / xmin, 1 - alpha);
      d = Math.max(d, Math.abs((k + 1) / tail.length - p), Math.abs(k / tail.length - p));
    });
    if (d < best.d) best = { d, alpha, xmin };
  }
  const fit = fitPowerLaw(sample, 5)!;
  assert.equal(fit.xmin, best.xmin);
  close(fit.alpha, best.alpha, 1e-6, 'alpha');
  close(fit.ksDistance, best.d, 1e-5, 'KS');
});

/** n draws of a Pareto law with density ∝ x^(-alpha) on [xmin, ∞) (inverse CDF). */
const pareto = (n: number, alpha: number, xmin: number, rng: Rng) => Array.from({ length: n }, () => xmin * Math.pow(1 - rng.next(), -1 / (alpha - 1)));

test('a Pareto sample of known exponent: alpha recovered within 3 standard errors', async () => {
  for (const [alpha, seed] of [[2, 1], [3, 2], [4.5, 3]] as const) {
    const fit = fitPowerLaw(pareto(4000, alpha, 0.5, new Rng(seed)), 5)!;
    // CSN eq. 3.2: the MLE is asymptotically normal with sd (alpha - 1)/sqrt(n) on the fitted tail.
    assert.ok(Math.abs(fit.alpha - alpha) <= 3 * fit.alphaStdErr, `alpha ${alpha}: fitted ${fit.alpha} ± ${fit.alphaStdErr}, xmin ${fit.xmin}, tail ${fit.tailCount}`);
    assert.ok(fit.tailCount >= 100, `tail of ${fit.tailCount} values`);
  }
});

test('a matrix whose squared singular values are Pareto: the layer alpha recovers the exponent', async () => {
  const rng = new Rng(31);
  const n = 500;
  const alpha = 2.5;
  // λ = s²/N drawn from Pareto(alpha) on [0.05, ∞): s = sqrt(N λ).
  const lambdas = pareto(250, alpha, 0.05, rng);
  const w = withSingularValues(n, lambdas.map((l) => Math.sqrt(n * l)), rng);
  const { spectrum } = await analyzeLayer(layerOf(w, n, 250), options({ shuffledControl: false }));
  const direct = fitPowerLaw(lambdas, 5)!;
  close(spectrum.alpha!, direct.alpha, 1e-6, 'alpha from the SVD vs from the λ themselves');
  assert.ok(Math.abs(spectrum.alpha! - alpha) <= 3 * spectrum.alphaStdErr!, `alpha ${spectrum.alpha} ± ${spectrum.alphaStdErr} (tail ${spectrum.tailCount})`);
});

test('a Gaussian matrix follows Marchenko–Pastur: eigenvalues inside the bulk, no spikes, no heavy tail', async () => {
  const n = 1000;
  const m = 250;
  const sd = 2;
  const w = gaussian(n * m, new Rng(41), sd);
  const { spectrum: l } = await analyzeLayer(layerOf(w, n, m), options());
  const y = m / n;
  // Closed-form MP edges for variance 4, y = 1/4: 4(1 ∓ 1/2)² = 1 and 9.
  close(marchenkoPasturEdges(n, m, 4).bulkMax, 9, 1e-12, 'bulk max');
  close(marchenkoPasturEdges(n, m, 4).bulkMin, 1, 1e-12, 'bulk min');
  // The analyzer's scale is the sample mean square (sd of that estimate √(2/250000) ≈ 0.3 %).
  close(l.mpBulkMax, sd * sd * (1 + Math.sqrt(y)) ** 2, 0.01, 'layer bulk max');
  // λ_max sits at the edge to within the Tracy–Widom scale, s/N ≈ 9·(1000)^(-2/3)·1.1 ≈ 0.1:
  // 3 % of the edge is ~3 TW units.
  close(l.lambdaMax, l.mpBulkMax, 0.03, 'λ_max vs MP edge');
  close(l.lambdaMin, l.mpBulkMin, 0.1, 'λ_min vs MP lower edge');
  assert.equal(l.numSpikes, 0);
  assert.ok(l.mpSoftrank > 0.97 && l.mpSoftrank < 1.03, `mp softrank ${l.mpSoftrank}`);
  // MP's density vanishes like a square root at the edge: no power-law tail, so the CSN fit
  // gives a steep exponent, well above the 2..6 of trained layers.
  assert.ok(l.alpha! > 6, `alpha ${l.alpha}`);
  // A random matrix is its own shuffled control.
  assert.equal(l.correlationTrap, false);
  assert.equal(l.shuffled!.numSpikes, 0);
  assert.ok(l.randDistance! < 0.2, `rand distance ${l.randDistance}`);
});

test('planted rank-k spikes are found where Benaych-Georges & Nadakuditi put them', async () => {
  const rng = new Rng(51);
  const n = 800;
  const m = 200;
  const y = m / n;
  const thetas = [1.5, 2.5, 4];
  // W = G + √N Σ θ_i u_i v_iᵀ with unit-variance G: the outlier singular values of W/√N converge
  // to sqrt((1 + θ²)(y + θ²))/θ for θ > y^(1/4) (Benaych-Georges & Nadakuditi 2012, §3.1), so
  // λ_i → (1 + θ²)(y + θ²)/θ².
  const w = gaussian(n * m, rng);
  const u = orthonormal(n, thetas.length, rng);
  const v = orthonormal(m, thetas.length, rng);
  thetas.forEach((t, k) => {
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) w[i * m + j]! += Math.sqrt(n) * t * u.get(i, k) * v.get(j, k);
  });
  const { spectrum: l, esd } = await analyzeLayer(layerOf(w, n, m), options());
  assert.equal(l.numSpikes, thetas.length);
  const top = [...esd].sort((a, b) => b - a).slice(0, thetas.length);
  const predicted = thetas.map((t) => ((1 + t * t) * (y + t * t)) / (t * t)).sort((a, b) => b - a);
  // An outlier fluctuates by O(1/√N) ≈ 3.5 % about its limit. (The spikes raise W's mean square,
  // the MP scale, by Σθ²/M = 12 %: the spike threshold moves, the outliers stay far above it.)
  top.forEach((l2, i) => close(l2, predicted[i]!, 0.05, `spike ${i}`));
  // Shuffling destroys the low-rank structure: the control has no spikes.
  assert.equal(l.shuffled!.numSpikes, 0);
  assert.equal(l.correlationTrap, false);
});

test('conv kernels: one [out, in] slice per kernel position, or one [out, in·k·k] matrix', async () => {
  const dims = [3, 2, 2, 2];
  const entries = Float64Array.from({ length: 24 }, (_, i) => i);
  const slices = kernelMatrices(entries, dims, 'slices');
  assert.equal(slices.matrices.length, 4);
  assert.deepEqual([slices.rows, slices.cols], [3, 2]);
  // Kernel W[o][i][kh][kw] is entry ((o·2 + i)·2 + kh)·2 + kw; slice p = kh·2 + kw holds W[o][i][kh][kw] at [o, i].
  for (let p = 0; p < 4; p++) {
    for (let o = 0; o < 3; o++) for (let i = 0; i < 2; i++) assert.equal(slices.matrices[p]![o * 2 + i], (o * 2 + i) * 4 + p);
  }
  const flat = kernelMatrices(entries, dims, 'flatten');
  assert.deepEqual([flat.rows, flat.cols, flat.matrices.length], [3, 8, 1]);
  // The slice ESD is the union of each slice's eigenvalues, λ = σ²/N with N = 3.
  const rng = new Rng(61);
  const k = gaussian(3 * 2 * 9, rng);
  const sl = kernelMatrices(k, [3, 2, 3, 3], 'slices');
  const { lambdas } = await esdOf(sl.matrices, 3, 2, options());
  assert.equal(lambdas.length, 9 * 2);
  let trace = 0;
  for (const x of k) trace += (x * x) / 3;
  close(lambdas.reduce((a, b) => a + b, 0), trace, 1e-10, 'Σλ = ‖W‖²/N');
});

test('the ESD distance is 0 for equal spectra and 1 for disjoint ones', async () => {
  const a = Float64Array.from([1, 2, 3, 4]);
  assert.equal(esdDistance(a, a), 0);
  close(esdDistance(Float64Array.from([1, 1.1]), Float64Array.from([100, 110])), 1, 1e-12, 'disjoint');
});
