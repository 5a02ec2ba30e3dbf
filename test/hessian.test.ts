/**
 * The hessian analyzer against independent answers: the Krylov methods on dense matrices of
 * known spectrum; linear regression (H = 2/N [X 1]^T [X 1]) and softmax regression
 * (H = 1/N sum_i (diag(p_i) - p_i p_i^T) (x) x~_i x~_i^T) in closed form; a small MLP whose
 * full Hessian is assembled column by column from products and eigen-decomposed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EigenvalueDecomposition, Matrix, QrDecomposition } from 'ml-matrix';
import { buildModel } from './helpers/onnx-builder.js';
import { tensor } from '../native/onnx/tensor.js';
import { int, serializeModel, type Model } from '../native/onnx/ir.js';
import { Rng } from '../common/random.js';
import { AppError } from '../common/errors.js';
import { validateParams } from '../analyzers/params.js';
import type { ArtifactSink, LoadedDataset } from '../analyzers/types.js';
import { hessianAnalyzer, type HessianParams, type HessianResult } from '../analyzers/hessian/index.js';
import { denseOperator } from '../analyzers/hessian/operator.js';
import { lanczosEigen, powerEigen } from '../analyzers/hessian/eigen.js';
import { lanczos } from '../analyzers/hessian/lanczos.js';
import { hutchinson, hutchpp } from '../analyzers/hessian/trace.js';
import { broaden, slq } from '../analyzers/hessian/density.js';
import { prepareLossModel } from '../native/autodiff/index.js';
import { LossRunner } from '../native/autodiff/runner.js';
import { unzipSync } from 'fflate';
import { readNpy } from '../datasets/npy.js';

// ---------- helpers ----------

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
const close = (a: number, b: number, tol: number, what = '') => assert.ok(rel(a, b) <= tol, `${what} ${a} vs ${b} (rel ${rel(a, b).toExponential(2)} > ${tol})`);

/** Symmetric n x n matrix U diag(spectrum) U^T with a seeded random orthogonal U. */
function withSpectrum(spectrum: number[], seed: number): Float64Array {
  const n = spectrum.length;
  const rng = new Rng(seed);
  const g = new Matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) g.set(i, j, rng.normal());
  const u = new QrDecomposition(g).orthogonalMatrix;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += u.get(i, k) * spectrum[k]! * u.get(j, k);
      a[i * n + j] = s;
      a[j * n + i] = s;
    }
  }
  return a;
}

const sortDesc = (xs: number[]) => [...xs].sort((a, b) => b - a);

function eigenvaluesOf(a: Float64Array, n: number): number[] {
  const m = new Matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m.set(i, j, 0.5 * (a[i * n + j]! + a[j * n + i]!));
  return sortDesc(new EigenvalueDecomposition(m, { assumeSymmetric: true }).realEigenvalues);
}

function dataset(x: number[][], y: number[] | number[][]): LoadedDataset {
  const float = Array.isArray(y[0]);
  return {
    sha256: 'test',
    format: 'npz',
    count: x.length,
    sampleShape: [x[0]!.length],
    x: Float32Array.from(x.flat()),
    y: float ? Float32Array.from((y as number[][]).flat()) : Int32Array.from(y as number[]),
    yShape: float ? [(y as number[][])[0]!.length] : [],
  };
}

interface Run {
  result: HessianResult;
  fractions: number[];
  artifacts: Map<string, Uint8Array>;
}

async function analyze(model: Model, data: LoadedDataset, raw: Record<string, unknown> = {}, signal = new AbortController().signal, onProgress?: (f: number) => void): Promise<Run> {
  const fractions: number[] = [];
  const artifacts = new Map<string, Uint8Array>();
  const sink: ArtifactSink = { write: async (name, bytes) => void artifacts.set(name, bytes) };
  const result = await hessianAnalyzer.run({
    model: { sha256: 'm', bytes: serializeModel(model), ir: model },
    dataset: data,
    params: validateParams(hessianAnalyzer.params, raw) as HessianParams,
    progress: (f) => {
      fractions.push(f);
      onProgress?.(f);
    },
    signal,
    artifacts: sink,
  });
  return { result, fractions, artifacts };
}

const values = (r: HessianResult) => r.topEigenvalues!.map((e) => e.value);

// ---------- the Krylov methods on dense matrices ----------

const SPECTRUM = [40, 25, 18, 12, 9, ...Array.from({ length: 50 }, (_, i) => 3 - 0.1 * i), -4, -7.5];

test('Lanczos finds the top and bottom eigenvalues of a known spectrum, with small measured residuals', async () => {
  const n = SPECTRUM.length;
  const op = denseOperator(withSpectrum(SPECTRUM, 1), n);
  const top = await lanczosEigen(op, { k: 5, which: 'largest', tol: 1e-8, maxIter: 100, rng: new Rng(2) });
  assert.ok(top.converged);
  top.pairs.forEach((p, i) => {
    close(p.value, SPECTRUM[i]!, 1e-10, `lambda_${i}`);
    assert.ok(p.residual < 1e-6, `residual ${p.residual}`);
  });
  assert.ok(top.iterations < n, `Lanczos used ${top.iterations} of ${n} steps`);
  const bottom = await lanczosEigen(op, { k: 2, which: 'smallest', tol: 1e-8, maxIter: 100, rng: new Rng(3) });
  close(bottom.pairs[0]!.value, -7.5, 1e-10);
  close(bottom.pairs[1]!.value, -4, 1e-10);
  close(bottom.top.value, 40, 1e-10, 'top alongside smallest');
});

test('Lanczos restarts on an invariant subspace and recovers a repeated eigenvalue', async () => {
  // 5 appears three times: one start vector sees a single copy; the restarts find the others.
  const spectrum = [5, 5, 5, 2, 1, 0.5, 0.25, 0.1];
  const op = denseOperator(withSpectrum(spectrum, 4), spectrum.length);
  const r = await lanczosEigen(op, { k: 4, which: 'largest', tol: 1e-10, maxIter: 8, rng: new Rng(5) });
  assert.deepEqual(r.pairs.map((p) => Number(p.value.toFixed(9))), [5, 5, 5, 2]);
});

test('power iteration with deflation (PyHessian) converges to the same top eigenvalues; shifted for the smallest', async () => {
  const n = SPECTRUM.length;
  const op = denseOperator(withSpectrum(SPECTRUM, 1), n);
  const r = await powerEigen(op, { k: 3, which: 'largest', tol: 1e-12, maxIter: 1000, rng: new Rng(6) });
  r.pairs.forEach((p, i) => close(p.value, SPECTRUM[i]!, 1e-8, `power lambda_${i}`));
  const s = await powerEigen(op, { k: 1, which: 'smallest', tol: 1e-12, maxIter: 2000, rng: new Rng(7) });
  close(s.pairs[0]!.value, -7.5, 1e-6);
  // PyHessian's default tolerance (1e-3 relative change) stops early: still close, less accurate.
  const loose = await powerEigen(op, { k: 1, which: 'largest', tol: 1e-3, maxIter: 100, rng: new Rng(6) });
  close(loose.pairs[0]!.value, 40, 1e-2);
});

test('Hutchinson reports an honest standard error; Hutch++ is exact when its sketch spans the space and better at equal budget', async () => {
  const n = SPECTRUM.length;
  const trace = SPECTRUM.reduce((a, b) => a + b, 0);
  const op = denseOperator(withSpectrum(SPECTRUM, 1), n);
  let covered = 0;
  let covered1 = 0;
  let errH = 0;
  let errPP = 0;
  const reps = 60;
  for (let s = 0; s < reps; s++) {
    const h = await hutchinson(op, { tol: 0, maxProbes: 60, rng: new Rng(100 + s) });
    assert.equal(h.probes, 60);
    if (Math.abs(h.estimate - trace) <= 2 * h.stdErr) covered++;
    if (Math.abs(h.estimate - trace) <= h.stdErr) covered1++;
    errH += (h.estimate - trace) ** 2;
    const pp = await hutchpp(op, { tol: 0, maxProbes: 60, rng: new Rng(100 + s), sketchSize: 10 });
    assert.equal(pp.probes, 60);
    errPP += (pp.estimate - trace) ** 2;
  }
  // Intervals from an honest standard error cover ~68% (1 sigma) and ~95% (2 sigma) of runs;
  // an overstated one would cover nearly all at 1 sigma, an understated one too few at 2.
  assert.ok(covered >= 0.85 * reps, `2-stdErr coverage ${covered}/${reps}`);
  assert.ok(covered1 >= 0.5 * reps && covered1 <= 0.85 * reps, `1-stdErr coverage ${covered1}/${reps}`);
  assert.ok(errPP < 0.5 * errH, `Hutch++ mse ${errPP / reps} vs Hutchinson ${errH / reps}`);
  // A sketch as wide as the space captures the whole range (SPECTRUM has one zero eigenvalue,
  // so Q has n - 1 columns and the residual probes see only rounding).
  const full = await hutchpp(op, { tol: 0.01, maxProbes: 3 * n, rng: new Rng(9), sketchSize: n });
  assert.equal(full.sketch, n - 1);
  close(full.estimate, trace, 1e-10);
  assert.ok(full.stdErr < 1e-10 * trace);
  // Stops at the tolerance: standard error at most 1% of the estimate.
  const stopped = await hutchinson(op, { tol: 0.01, maxProbes: 100_000, rng: new Rng(10) });
  assert.ok(stopped.stdErr <= 0.01 * Math.abs(stopped.estimate) && stopped.probes < 100_000);
});

test('Hutch++ with a known Lanczos basis: exact when it spans the space, unbiased and tighter when it does not', async () => {
  const n = SPECTRUM.length;
  const trace = SPECTRUM.reduce((a, b) => a + b, 0);
  const op = denseOperator(withSpectrum(SPECTRUM, 1), n);
  const start = () => Float64Array.from({ length: n }, (_, i) => 1 + i / n);
  const full = await lanczos(op, start(), { steps: n, rng: new Rng(3) });
  const exact = await hutchpp(op, { tol: 0.01, maxProbes: 30, rng: new Rng(4), sketchSize: 3, known: { basis: full.basis, diag: full.alpha } });
  assert.ok(exact.exact && exact.probes === 0, `no product spent: ${exact.probes}`);
  close(exact.estimate, trace, 1e-9);
  // Half the space known: over repeated runs the error is centred on 0 and smaller than plain
  // Hutch++ at the same number of fresh products.
  const half = await lanczos(op, start(), { steps: Math.floor(n / 2), rng: new Rng(3) });
  let errKnown = 0;
  let errPlain = 0;
  let bias = 0;
  const reps = 60;
  for (let s = 0; s < reps; s++) {
    const k = await hutchpp(op, { tol: 0, maxProbes: 12, rng: new Rng(200 + s), sketchSize: 2, known: { basis: half.basis, diag: half.alpha } });
    const p = await hutchpp(op, { tol: 0, maxProbes: 12, rng: new Rng(200 + s), sketchSize: 2 });
    assert.equal(k.probes, 12);
    errKnown += (k.estimate - trace) ** 2;
    errPlain += (p.estimate - trace) ** 2;
    bias += (k.estimate - trace) / reps;
  }
  assert.ok(errKnown < 0.5 * errPlain, `known-basis mse ${errKnown / reps} vs plain ${errPlain / reps}`);
  assert.ok(Math.abs(bias) < 3 * Math.sqrt(errKnown / reps / reps), `mean error ${bias}`);
});

test('SLQ with as many steps as the dimension returns the spectrum; broadening matches density_generate computed directly', async () => {
  const spectrum = [3, 1.5, 1, 0.2, -0.4, -1];
  const op = denseOperator(withSpectrum(spectrum, 11), spectrum.length);
  const runs = await slq(op, { runs: 2, steps: 100, rng: new Rng(12) });
  for (const r of runs) {
    assert.equal(r.nodes.length, spectrum.length);
    sortDesc(r.nodes).forEach((v, i) => assert.ok(Math.abs(v - spectrum[i]!) < 1e-10, `${v} vs ${spectrum[i]}`));
    close(r.weights.reduce((a, b) => a + b, 0), 1, 1e-12, 'weights sum');
  }
  const bins = 500;
  const d = broaden(runs, bins, 1e-3);
  // PyHessian's density_generate, written out without any windowing.
  const hi = (runs[0]!.nodes.at(-1)! + runs[1]!.nodes.at(-1)!) / 2 + 0.01;
  const lo = (runs[0]!.nodes[0]! + runs[1]!.nodes[0]!) / 2 - 0.01;
  const variance = 1e-3 * Math.max(1, hi - lo);
  const grid = Array.from({ length: bins }, (_, j) => lo + ((hi - lo) * j) / (bins - 1));
  const raw = grid.map((x) => runs.reduce((s, r) => s + r.nodes.reduce((t, x0, i) => t + (r.weights[i]! * Math.exp(-((x0 - x) ** 2) / (2 * variance))) / Math.sqrt(2 * Math.PI * variance), 0), 0) / runs.length);
  const z = raw.reduce((a, b) => a + b, 0) * (grid[1]! - grid[0]!);
  d.density.forEach((v, j) => assert.ok(Math.abs(v - raw[j]! / z) < 1e-9 * (1 + raw[j]! / z), `bin ${j}`));
  close(d.variance, variance, 1e-12);
});

// ---------- linear regression with squared loss: H = 2/N [X 1]^T [X 1] ----------

const lrRng = new Rng(21);
const N_LR = 23;
const D_LR = 4;
const xLR = Array.from({ length: N_LR }, () => Array.from({ length: D_LR }, () => lrRng.normal()));
const yLR = xLR.map((r) => [r[0]! - 0.5 * r[2]! + 0.3 * lrRng.normal()]);
const wLR = [0.2, -0.1, 0.4, 0.05];
const linearModel = buildModel({
  inputs: [{ name: 'x', dims: ['N', D_LR] }],
  nodes: [
    { op: 'MatMul', inputs: ['x', 'W'], outputs: ['xw'] },
    { op: 'Add', inputs: ['xw', 'b'], outputs: ['out'] },
  ],
  outputs: ['out'],
  initializers: { W: tensor('float64', [D_LR, 1], wLR), b: tensor('float64', [1], [0.1]) },
});

/** 2/M A^T A with A = [X 1] over the first M samples (as float32, as the dataset stores them). */
function linearHessian(m: number): Float64Array {
  const x32 = Float32Array.from(xLR.flat());
  const n = D_LR + 1;
  const h = new Float64Array(n * n);
  for (let s = 0; s < m; s++) {
    const a = [...x32.subarray(s * D_LR, (s + 1) * D_LR), 1];
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) h[i * n + j] += (2 / m) * a[i]! * a[j]!;
  }
  return h;
}

test('linear regression: top eigenvalues, trace and loss equal the closed form; batches of 7 and maxSamples', async () => {
  const data = dataset(xLR, yLR);
  for (const m of [N_LR, 15]) {
    const h = linearHessian(m);
    const exact = eigenvaluesOf(h, D_LR + 1);
    const trace = exact.reduce((a, b) => a + b, 0);
    const { result } = await analyze(linearModel, data, { loss: 'mse', batchSize: 7, topK: 3, ...(m < N_LR ? { maxSamples: m } : {}) });
    assert.equal(result.lossKind, 'mse');
    assert.equal(result.precision, 'float64');
    assert.equal(result.parameterCount, D_LR + 1);
    assert.equal(result.samples, m);
    values(result).forEach((v, i) => close(v, exact[i]!, 1e-10, `m=${m} lambda_${i}`));
    // Hutch++ (default): the sketch spans the Hessian's range, so the estimate is exact.
    close(result.trace!.estimate, trace, 1e-10, 'trace');
    // The loss the products saw: mean squared error over the first m samples.
    const x32 = Float32Array.from(xLR.flat());
    let loss = 0;
    for (let s = 0; s < m; s++) {
      let p = 0.1;
      for (let j = 0; j < D_LR; j++) p += wLR[j]! * x32[s * D_LR + j]!;
      loss += (p - Math.fround(yLR[s]![0]!)) ** 2 / m;
    }
    close(result.loss!, loss, 1e-10, 'loss');
  }
});

test('linear regression: Hutchinson lies within a few standard errors, power iteration matches Lanczos', async () => {
  const data = dataset(xLR, yLR);
  const exact = eigenvaluesOf(linearHessian(N_LR), D_LR + 1);
  const trace = exact.reduce((a, b) => a + b, 0);
  const { result } = await analyze(linearModel, data, { loss: 'mse', traceMethod: 'hutchinson', method: 'power', tol: 1e-12, maxIter: 2000, topK: 2 });
  const t = result.trace!;
  assert.ok(t.stdErr > 0 && Math.abs(t.estimate - trace) <= 4 * t.stdErr, `${t.estimate} vs ${trace} (stdErr ${t.stdErr})`);
  assert.ok(t.stdErr <= 0.01 * t.estimate || t.probes === 500);
  values(result).forEach((v, i) => close(v, exact[i]!, 1e-8, `power lambda_${i}`));
  assert.equal(result.eigenSolver!.method, 'power');
});

// ---------- softmax regression: H = 1/N sum (diag(p) - p p^T) (x) x~ x~^T ----------

test('softmax regression: top eigenvalues and trace equal the closed form', async () => {
  const rng = new Rng(31);
  const n = 30;
  const d = 3;
  const c = 4;
  const x = Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal()));
  const y = Array.from({ length: n }, () => rng.int(c));
  const W = Array.from({ length: d * c }, () => 0.5 * rng.normal());
  const b = Array.from({ length: c }, () => 0.2 * rng.normal());
  const model = buildModel({
    inputs: [{ name: 'x', dims: ['N', d] }],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W'], outputs: ['xw'] },
      { op: 'Add', inputs: ['xw', 'b'], outputs: ['logits'] },
    ],
    outputs: ['logits'],
    initializers: { W: tensor('float64', [d, c], W), b: tensor('float64', [c], b) },
  });
  // Parameters ordered as (W row-major: index i*c + k, then b: index d*c + k), i.e. the
  // coefficient of class k on feature i of x~ = [x, 1] sits at i*c + k with i = d for the bias.
  const dim = (d + 1) * c;
  const h = new Float64Array(dim * dim);
  const x32 = Float32Array.from(x.flat());
  for (let s = 0; s < n; s++) {
    const xt = [...x32.subarray(s * d, (s + 1) * d), 1];
    const z = Array.from({ length: c }, (_, k) => b[k]! + xt.slice(0, d).reduce((t, xi, i) => t + xi * W[i * c + k]!, 0));
    const mx = Math.max(...z);
    const e = z.map((v) => Math.exp(v - mx));
    const p = e.map((v) => v / e.reduce((a, b2) => a + b2, 0));
    for (let i = 0; i <= d; i++)
      for (let k = 0; k < c; k++)
        for (let j = 0; j <= d; j++)
          for (let l = 0; l < c; l++) h[(i * c + k) * dim + (j * c + l)] += ((k === l ? p[k]! : 0) - p[k]! * p[l]!) * xt[i]! * xt[j]! / n;
  }
  const exact = eigenvaluesOf(h, dim);
  const trace = exact.reduce((a, b2) => a + b2, 0);
  const { result } = await analyze(model, dataset(x, y), { batchSize: 8, topK: 5, compute: ['top', 'trace'] });
  assert.equal(result.lossKind, 'cross-entropy');
  values(result).forEach((v, i) => close(v, exact[i]!, 1e-6, `lambda_${i}`));
  // The softmax Hessian has rank (d+1)(c-1) < dim (shifting all logits changes nothing): Hutch++'s
  // 20-column sketch spans it, so the trace is exact to rounding.
  close(result.trace!.estimate, trace, 1e-6, 'trace');
  const hutch = (await analyze(model, dataset(x, y), { compute: ['trace'], traceMethod: 'hutchinson', seed: 4 })).result.trace!;
  assert.ok(Math.abs(hutch.estimate - trace) <= 4 * hutch.stdErr, `${hutch.estimate} vs ${trace} (stdErr ${hutch.stdErr})`);
});

// ---------- a small MLP: the full Hessian from products, eigen-decomposed ----------

const mlpRng = new Rng(41);
const randn = (dims: number[], s: number) => tensor('float64', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => s * mlpRng.normal()));
const IN = 5;
const HID = 8;
const OUT = 3;
const mlp = buildModel({
  inputs: [{ name: 'x', dims: ['N', IN] }],
  nodes: [
    { op: 'Gemm', inputs: ['x', 'W1', 'b1'], outputs: ['h'], attrs: { transB: int(1) } },
    { op: 'Relu', inputs: ['h'], outputs: ['a'] },
    { op: 'Gemm', inputs: ['a', 'W2', 'b2'], outputs: ['logits'] },
  ],
  outputs: ['logits'],
  initializers: { W1: randn([HID, IN], 0.8), b1: randn([HID], 0.3), W2: randn([HID, OUT], 0.8), b2: randn([OUT], 0.1) },
});
const N_MLP = 40;
const xMLP = Array.from({ length: N_MLP }, () => Array.from({ length: IN }, () => mlpRng.normal()));
const yMLP = Array.from({ length: N_MLP }, () => mlpRng.int(OUT));
const mlpData = dataset(xMLP, yMLP);

let fullMlp: Promise<{ h: Float64Array; dim: number; params: string[]; offsets: number[]; sizes: number[] }> | undefined;
/** The full Hessian of the mean loss, one column per product with a unit vector over the whole dataset in one batch. */
function mlpHessian() {
  fullMlp ??= (async () => {
    const prepared = await prepareLossModel(mlp);
    const runner = await LossRunner.create(prepared, { gradient: false, hvp: true });
    const dim = runner.dim;
    const batch = { inputs: { x: tensor('float64', [N_MLP, IN], Float32Array.from(xMLP.flat())) }, labels: tensor('int64', [N_MLP], yMLP) };
    const h = new Float64Array(dim * dim);
    for (let j = 0; j < dim; j++) {
      const e = new Float64Array(dim);
      e[j] = 1;
      const col = (await runner.hvp(batch, e)).hv;
      for (let i = 0; i < dim; i++) h[i * dim + j] = col[i]!;
    }
    await runner.release();
    const sizes = prepared.params.map((p) => prepared.values.get(p)!.data.length);
    return { h, dim, params: prepared.params, offsets: runner.offsets, sizes };
  })();
  return fullMlp;
}

function block(h: Float64Array, dim: number, o: number, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = h[(o + i) * dim + o + j]!;
  return out;
}

test('MLP: top-5 and smallest eigenvalues equal those of the assembled Hessian; trace within 3 standard errors', async () => {
  const { h, dim } = await mlpHessian();
  // The product graph is exact: the assembled matrix is symmetric to rounding.
  for (let i = 0; i < dim; i++) for (let j = 0; j < i; j++) assert.ok(Math.abs(h[i * dim + j]! - h[j * dim + i]!) < 1e-10, `H[${i},${j}]`);
  const exact = eigenvaluesOf(h, dim);
  const trace = exact.reduce((a, b) => a + b, 0);
  assert.ok(exact.at(-1)! < -1e-6, 'the MLP Hessian should have a negative eigenvalue');
  const { result, artifacts } = await analyze(mlp, mlpData, { batchSize: 16, traceMethod: 'hutchinson', traceTol: 0.03, learningRate: 0.1, seed: 3 });
  values(result).forEach((v, i) => close(v, exact[i]!, 1e-6, `lambda_${i}`));
  // eigenvectors.npz: unit vectors with H y = lambda y (checked against the assembled H, in float32).
  const files = unzipSync(artifacts.get('eigenvectors.npz')!);
  const vec = readNpy(files['vectors.npy']!);
  assert.deepEqual(vec.shape, [5, dim]);
  for (let e = 0; e < 5; e++) {
    const y = Array.from(vec.data.subarray(e * dim, (e + 1) * dim));
    for (let i = 0; i < dim; i++) {
      const hy = y.reduce((s, yj, j) => s + h[i * dim + j]! * yj, 0);
      assert.ok(Math.abs(hy - exact[e]! * y[i]!) < 1e-5 * exact[0]!, `eigenvector ${e} row ${i}`);
    }
  }
  result.topEigenvalues!.forEach((e) => assert.ok(e.residual < 1e-5 * exact[0]!, `residual ${e.residual}`));
  const t = result.trace!;
  assert.ok(Math.abs(t.estimate - trace) <= 3 * t.stdErr, `trace ${t.estimate} vs ${trace} (stdErr ${t.stdErr})`);
  // Probes go in blocks of probeBlock (8) per run; products past the stopping point are dropped.
  assert.ok(t.hvps >= t.probes && t.hvps < t.probes + 8, `trace hvps ${t.hvps}, probes ${t.probes}`);
  // Sharpness against the edge of stability 2/lr.
  close(result.sharpness!.value, exact[0]!, 1e-6);
  close(result.sharpness!.edgeOfStability!, 20, 1e-15);
  close(result.sharpness!.ratio!, exact[0]! / 20, 1e-6);

  const small = (await analyze(mlp, mlpData, { which: 'smallest', topK: 2, compute: ['top'] })).result;
  close(small.topEigenvalues![0]!.value, exact.at(-1)!, 1e-6, 'lambda_min');
  close(small.topEigenvalues![1]!.value, exact.at(-2)!, 1e-6, 'lambda_min+1');
  close(small.sharpness!.value, exact[0]!, 1e-6, 'sharpness alongside smallest');

  const pp = (await analyze(mlp, mlpData, { compute: ['trace'], traceTol: 0.03, seed: 3 })).result.trace!;
  assert.equal(pp.method, 'hutchpp');
  assert.ok(Math.abs(pp.estimate - trace) <= 3 * pp.stdErr + 1e-9 * Math.abs(trace), `Hutch++ ${pp.estimate} vs ${trace} (stdErr ${pp.stdErr})`);
  // Both stop at the same relative standard error; Hutch++ gets there with far fewer products.
  assert.ok(pp.probes < t.probes / 2, `Hutch++ ${pp.probes} products vs Hutchinson ${t.probes}`);
});

test('MLP: per-tensor blocks match the diagonal blocks of the assembled Hessian (estimated and exact)', async () => {
  const { h, dim, params, offsets, sizes } = await mlpHessian();
  for (const exactBlockSize of [0, 64]) {
    const { result } = await analyze(mlp, mlpData, { compute: ['perLayer'], exactBlockSize, traceMethod: 'hutchinson', traceTol: 0.05, maxProbes: 200, seed: 5 });
    assert.equal(result.perLayer!.length, params.length);
    for (const [k, name] of params.entries()) {
      const layer = result.perLayer!.find((l) => l.name === name)!;
      const b = block(h, dim, offsets[k]!, sizes[k]!);
      const ev = eigenvaluesOf(b, sizes[k]!);
      const tr = ev.reduce((a, c) => a + c, 0);
      assert.equal(layer.size, sizes[k]);
      assert.equal(layer.exact, sizes[k]! <= exactBlockSize);
      close(layer.topEigenvalue, ev[0]!, 1e-6, `${name} top`);
      if (layer.exact) close(layer.trace.estimate, tr, 1e-10, `${name} trace`);
      else assert.ok(Math.abs(layer.trace.estimate - tr) <= 3 * layer.trace.stdErr + 1e-9 * Math.abs(tr), `${name} trace ${layer.trace.estimate} vs ${tr} (stdErr ${layer.trace.stdErr})`);
      close(layer.averageTrace, layer.trace.estimate / sizes[k]!, 1e-15);
    }
    const ranked = [...result.perLayer!].sort((a, b) => b.averageTrace - a.averageTrace).map((l) => l.name);
    assert.deepEqual(result.perLayerRanking, ranked);
  }
});

test('MLP: SLQ density with steps >= dimension has the exact spectrum as nodes; SVG artifact', async () => {
  const { h, dim } = await mlpHessian();
  const exact = eigenvaluesOf(h, dim);
  const { result, artifacts } = await analyze(mlp, mlpData, { compute: ['density'], slqSteps: 200, densityBins: 2000 });
  const d = result.density!;
  assert.equal(d.steps, dim);
  const nodes = sortDesc(d.nodes[0]!);
  nodes.forEach((v, i) => assert.ok(Math.abs(v - exact[i]!) < 1e-8 * exact[0]!, `node ${i}: ${v} vs ${exact[i]}`));
  assert.equal(d.grid.length, 2000);
  const dx = d.grid[1]! - d.grid[0]!;
  close(d.density.reduce((a, b) => a + b, 0) * dx, 1, 1e-12, 'density integral');
  const svg = new TextDecoder().decode(artifacts.get('density.svg')!);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  const points = /points="([^"]+)"/.exec(svg)![1]!.split(' ');
  assert.ok(points.length > 100 && points.every((p) => /^\d+(\.\d)?,\d+(\.\d)?$/.test(p)), 'polyline points');
  assert.ok(svg.trimEnd().endsWith('</svg>'));
});

test('probes in blocks (one run, shared forward and backward) give the results of one at a time', async () => {
  const strip = (r: HessianResult) => ({ ...r, durationMs: 0, hvpCount: 0, trace: { ...r.trace!, hvps: 0 }, perLayer: r.perLayer!.map((l) => ({ ...l, hvps: 0 })) });
  const params = { compute: ['top', 'trace', 'perLayer'], traceTol: 0.05, maxProbes: 150, exactBlockSize: 64, seed: 4 };
  const one = (await analyze(mlp, mlpData, { ...params, probeBlock: 1 })).result;
  assert.equal(one.trace!.hvps, one.trace!.probes, 'one at a time: every product is a probe');
  for (const probeBlock of [3, 8]) {
    const r = (await analyze(mlp, mlpData, { ...params, probeBlock })).result;
    assert.deepEqual(strip(r), strip(one), `probeBlock ${probeBlock}`);
    assert.ok(r.trace!.hvps - r.trace!.probes < probeBlock, `probeBlock ${probeBlock}: ${r.trace!.hvps} products for ${r.trace!.probes} probes`);
  }
});

test('deterministic for a seed, different for another; progress grows to 1', async () => {
  const strip = (r: HessianResult) => ({ ...r, durationMs: 0 });
  const params = { traceMethod: 'hutchinson', traceTol: 0.05, compute: ['top', 'trace'], seed: 7 };
  const a = await analyze(mlp, mlpData, params);
  const b = await analyze(mlp, mlpData, params);
  assert.deepEqual(strip(a.result), strip(b.result));
  const c = await analyze(mlp, mlpData, { ...params, seed: 8 });
  assert.notEqual(c.result.trace!.estimate, a.result.trace!.estimate);
  assert.equal(a.result.hvpCount, a.result.eigenSolver!.hvps + a.result.trace!.hvps);
  for (let i = 1; i < a.fractions.length; i++) assert.ok(a.fractions[i]! >= a.fractions[i - 1]!, 'progress must not go back');
  assert.equal(a.fractions.at(-1), 1);
  assert.ok(a.fractions.length >= a.result.hvpCount, 'one progress report per product');
});

test('cancellation between products, and bad params', async () => {
  const ctl = new AbortController();
  let reports = 0;
  await assert.rejects(
    analyze(mlp, mlpData, { compute: ['top', 'trace', 'density'] }, ctl.signal, () => {
      if (++reports === 3) ctl.abort();
    }),
    (e: unknown) => e instanceof AppError && e.code === 'CANCELLED',
  );
  assert.equal(reports, 3, 'no product after the abort');
  // A time budget aborts with its own reason, which comes through.
  const timed = new AbortController();
  timed.abort(new AppError('TIMEOUT', 'budget'));
  await assert.rejects(analyze(mlp, mlpData, {}, timed.signal), (e: unknown) => e instanceof AppError && e.code === 'TIMEOUT');
  await assert.rejects(analyze(mlp, mlpData, { compute: ['top', 'eigenvectors'] }), (e: unknown) => e instanceof AppError && e.code === 'BAD_PARAMS' && /eigenvectors/.test(e.message));
  await assert.rejects(analyze(mlp, mlpData, { method: 'arnoldi' }), (e: unknown) => e instanceof AppError && e.code === 'BAD_PARAMS');
});
