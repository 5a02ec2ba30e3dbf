/**
 * landscape: closed-form checks on linear regression (mse is quadratic in the weights, so every
 * surface and path is known exactly in JavaScript), CKA identities, the Bezier chain rule.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildModel } from './helpers/onnx-builder.js';
import { tensor } from '../native/onnx/tensor.js';
import { int, serializeModel, type Model } from '../native/onnx/ir.js';
import { Rng } from '../common/random.js';
import type { LoadedDataset, LoadedModel } from '../analyzers/types.js';
import { landscapeAnalyzer, type LandscapeParams } from '../analyzers/landscape/index.js';
import { filterAxisOf, filterNorms, layoutOf, randomDirection } from '../analyzers/landscape/directions.js';
import { linearCka, summarizePath } from '../analyzers/landscape/metrics.js';
import { trainBend } from '../analyzers/landscape/curve.js';
import { prepareLossModel } from '../native/autodiff/index.js';

const rng = new Rng(11);
const N = 12;
const X = Array.from({ length: N }, () => [rng.normal(), rng.normal(), rng.normal()]);
const Y = X.map((x) => [x[0]! - 2 * x[2]! + 0.3 * rng.normal(), 0.5 * x[1]! + 0.3 * rng.normal()]);

function regression(W: number[][], b: number[]): Model {
  return buildModel({
    inputs: [{ name: 'x', dims: ['N', 3] }],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W'], outputs: ['h'] },
      { op: 'Add', inputs: ['h', 'b'], outputs: ['out'] },
    ],
    outputs: ['out'],
    initializers: { W: tensor('float64', [3, 2], W.flat()), b: tensor('float64', [2], b) },
  });
}

const data: LoadedDataset = {
  sha256: 'data', format: 'npz', count: N, sampleShape: [3],
  x: Float32Array.from(X.flat()), y: Float32Array.from(Y.flat()), yShape: [2],
};
// The dataset stores float32: the reference uses exactly the values the model sees.
const xs = X.map((r) => r.map((v) => Math.fround(v)));
const ys = Y.map((r) => r.map((v) => Math.fround(v)));

/** Mean over samples of the mean over outputs of (x W + b - y)^2, in float64. */
function mse(W: number[][], b: number[]): number {
  let s = 0;
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < 2; k++) {
      let o = b[k]!;
      for (let j = 0; j < 3; j++) o += xs[i]![j]! * W[j]![k]!;
      s += (o - ys[i]![k]!) ** 2 / 2;
    }
  }
  return s / N;
}

const W0 = [[0.9, 0.1], [-0.2, 0.4], [-1.5, 0.3]];
const b0 = [0.1, -0.2];
const W1 = [[1.2, -0.3], [0.5, 0.7], [-2.2, -0.1]];
const b1 = [-0.4, 0.3];

const loaded = (m: Model, sha: string): LoadedModel => ({ sha256: sha, bytes: serializeModel(m), ir: m });

async function analyze(params: Partial<LandscapeParams>, other?: LoadedModel) {
  return landscapeAnalyzer.run({
    model: loaded(regression(W0, b0), 'm0'),
    dataset: data,
    params: {
      surface: 'none', range: 1, resolution: 5, normalization: 'filter', ignoreBiasAndNorm: true, points: 11, curve: false,
      curveEpochs: 5, curveLr: 0.01, curveMomentum: 0, cka: false, batchSize: 5, maxSamples: 1000, loss: 'mse', precision: 'float64', seed: 3,
      ...(other ? { otherModel: other.sha256 } : {}),
      ...params,
    } as LandscapeParams,
    progress: () => {},
    signal: new AbortController().signal,
    ...(other ? { resolveModel: async () => other } : {}),
  });
}

test('filter axes follow the consumer: MatMul weights are per column, transposed Gemm per row, biases none', () => {
  const gemm = buildModel({
    inputs: [{ name: 'x', dims: ['N', 3] }],
    nodes: [{ op: 'Gemm', inputs: ['x', 'A', 'c'], outputs: ['y'], attrs: { transB: int(1) } }],
    outputs: ['y'],
    initializers: { A: tensor('float64', [4, 3], new Array(12).fill(1)), c: tensor('float64', [4], [0, 0, 0, 0]) },
  });
  assert.equal(filterAxisOf(gemm, 'A', 2), 0);
  assert.equal(filterAxisOf(gemm, 'c', 1), null);
  assert.equal(filterAxisOf(regression(W0, b0), 'W', 2), 1);
});

test('1D surface of a quadratic loss: the exact mse at every alpha, a parabola, filter-normalized direction', async () => {
  const r = await analyze({ surface: '1d', resolution: 7, range: 1.5 });
  assert.ok(r.surface1d);
  assert.ok(Math.abs(r.loss - mse(W0, b0)) < 1e-12 * Math.max(1, r.loss), `${r.loss} vs ${mse(W0, b0)}`);
  // Recreate the direction the analyzer drew (same seed, same layout) and check Li et al.'s scaling.
  const prepared = await prepareLossModel(regression(W0, b0), { loss: 'mse', precision: 'float64' });
  assert.deepEqual(prepared.params, ['W', 'b']);
  const layout = layoutOf(prepared.model, prepared.params, [[3, 2], [2]]);
  const theta = Float64Array.from([...W0.flat(), ...b0]);
  const d = randomDirection(theta, layout, new Rng(3), { normalization: 'filter', ignoreBiasAndNorm: true });
  const columnNorms = [0, 1].map((k) => Math.hypot(W0[0]![k]!, W0[1]![k]!, W0[2]![k]!));
  filterNorms(d, layout, 0).forEach((n, k) => assert.ok(Math.abs(n - columnNorms[k]!) < 1e-9, `filter ${k}: ${n} vs ${columnNorms[k]}`));
  assert.deepEqual([d[6], d[7]], [0, 0], 'bias direction is zero');
  r.surface1d.alphas.forEach((a, i) => {
    const W = W0.map((row, j) => row.map((w, k) => w + a * d[j * 2 + k]!));
    const expect = mse(W, b0);
    assert.ok(Math.abs(r.surface1d!.losses[i]! - expect) < 1e-10 * Math.max(1, expect), `alpha ${a}: ${r.surface1d!.losses[i]} vs ${expect}`);
  });
  // Equally spaced samples of a parabola have constant second differences.
  const l = r.surface1d.losses;
  const second = l.slice(2).map((v, i) => v - 2 * l[i + 1]! + l[i]!);
  for (const s of second) assert.ok(Math.abs(s - second[0]!) < 1e-9 * Math.max(1, Math.abs(second[0]!)));
  assert.ok(second[0]! > 0, 'convex');
  assert.equal(r.surface1d.accuracies[0], null, 'no accuracy for regression');
});

test('2D surface: the grid is L(theta + a d1 + b d2), centre equals the model loss', async () => {
  const r = await analyze({ surface: '2d', resolution: 5, range: 1 });
  assert.ok(r.surface2d);
  assert.equal(r.surface2d.losses.length, 5);
  assert.ok(Math.abs(r.surface2d.losses[2]![2]! - mse(W0, b0)) < 1e-10);
  // A quadratic in (a, b): the mixed second difference is the same everywhere.
  const L = r.surface2d.losses;
  const mixed = (j: number, i: number) => L[j + 1]![i + 1]! - L[j + 1]![i]! - L[j]![i + 1]! + L[j]![i]!;
  for (let j = 0; j < 4; j++) for (let i = 0; i < 4; i++) assert.ok(Math.abs(mixed(j, i) - mixed(0, 0)) < 1e-9);
});

test('linear interpolation between two regressions: exact curve, barrier and mcLinear by brute force', async () => {
  const other = loaded(regression(W1, b1), 'm1');
  const r = await analyze({ points: 11 }, other);
  assert.ok(r.interpolation);
  const expect = r.interpolation.ts.map((t) =>
    mse(W0.map((row, j) => row.map((w, k) => (1 - t) * w + t * W1[j]![k]!)), b0.map((v, k) => (1 - t) * v + t * b1[k]!)),
  );
  expect.forEach((e, i) => assert.ok(Math.abs(r.interpolation!.losses[i]! - e) < 1e-10 * Math.max(1, e), `t=${r.interpolation!.ts[i]}`));
  const l0 = expect[0]!;
  const l1 = expect.at(-1)!;
  const mid = (l0 + l1) / 2;
  let star = 0;
  for (let i = 0; i < expect.length; i++) if (Math.abs(mid - expect[i]!) > Math.abs(mid - expect[star]!)) star = i;
  assert.ok(Math.abs(r.interpolation.mcLinear - (mid - expect[star]!)) < 1e-9);
  assert.ok(Math.abs(r.interpolation.barrier - (Math.max(...expect) - Math.max(l0, l1))) < 1e-9);
  // A convex loss along a line never rises above the larger end: no barrier, the path dips (mc > 0).
  assert.ok(r.interpolation.barrier < 1e-9);
  assert.ok(r.interpolation.mcLinear > 0);
  assert.equal(r.otherModel, 'm1');
});

test('Bezier curve: bend training lowers the curve loss; mc follows its formula; refuses another architecture', async () => {
  const other = loaded(regression(W1, b1), 'm1');
  const r = await analyze({ points: 21, curve: true, curveEpochs: 30, curveLr: 0.05, curveMomentum: 0 }, other);
  assert.ok(r.curve && r.interpolation);
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(mean(r.curve.losses) < mean(r.interpolation.losses), `${mean(r.curve.losses)} < ${mean(r.interpolation.losses)}`);
  const s = summarizePath(r.curve.ts, r.curve.losses);
  assert.equal(r.curve.mc, s.mc);
  assert.ok(Math.abs(r.curve.losses[0]! - r.interpolation.losses[0]!) < 1e-12, 'the curve keeps its end points');
  assert.equal(r.curve.steps, 30 * (r.batched ? Math.ceil(N / 5) : N), 'one step per minibatch per epoch');
  const wide = buildModel({
    inputs: [{ name: 'x', dims: ['N', 3] }],
    nodes: [{ op: 'MatMul', inputs: ['x', 'W'], outputs: ['out'] }],
    outputs: ['out'],
    initializers: { W: tensor('float64', [3, 2], new Array(6).fill(0.1)) },
  });
  await assert.rejects(analyze({}, loaded(wide, 'w')), /architecture/);
});

test('trainBend: one SGD step is -lr 2t(1-t) grad L(phi(t)) from the midpoint (chain rule, by hand)', async () => {
  const c = Float64Array.from([1, -2, 3]);
  const w0 = Float64Array.from([0, 0, 0]);
  const w1 = Float64Array.from([2, 2, 2]);
  // L(theta) = |theta - c|^2 / 2, grad = theta - c.
  const oracle = async (th: Float64Array) => ({ loss: 0, grad: th.map((v, i) => v - c[i]!) });
  const out = await trainBend(w0, w1, { epochs: 1, batches: 1, lr: 0.3, momentum: 0, seed: 9 }, oracle);
  const t = new Rng(9).next();
  const mid = [1, 1, 1];
  const phi = mid.map((m, i) => (1 - t) ** 2 * w0[i]! + 2 * t * (1 - t) * m + t * t * w1[i]!);
  mid.forEach((m, i) => assert.ok(Math.abs(out.bend[i]! - (m - 0.3 * 2 * t * (1 - t) * (phi[i]! - c[i]!))) < 1e-15));
});

test('linear CKA: 1 with itself, after an orthogonal transform and isotropic scaling; r^2 in one dimension; Gram and feature forms agree', () => {
  const r = new Rng(4);
  const n = 30;
  const p = 5;
  const x = Float64Array.from({ length: n * p }, () => r.normal());
  assert.ok(Math.abs(linearCka(x, p, x, p, n) - 1) < 1e-12);
  // Random orthogonal Q by Gram-Schmidt.
  const q: number[][] = [];
  while (q.length < p) {
    let v = Array.from({ length: p }, () => r.normal());
    for (const u of q) {
      const dot = v.reduce((s, vi, i) => s + vi * u[i]!, 0);
      v = v.map((vi, i) => vi - dot * u[i]!);
    }
    const norm = Math.hypot(...v);
    q.push(v.map((vi) => vi / norm));
  }
  const xq = new Float64Array(n * p);
  for (let i = 0; i < n; i++) for (let k = 0; k < p; k++) for (let j = 0; j < p; j++) xq[i * p + k] = xq[i * p + k]! + x[i * p + j]! * q[k]![j]!;
  assert.ok(Math.abs(linearCka(x, p, xq, p, n) - 1) < 1e-12);
  const scaled = x.map((v, i) => 3 * v + (i % p)); // scaling plus a per-feature shift (centring removes it)
  assert.ok(Math.abs(linearCka(x, p, scaled, p, n) - 1) < 1e-12);
  // One feature each: CKA = squared Pearson correlation.
  const a = Float64Array.from({ length: n }, () => r.normal());
  const b = a.map((v) => v + r.normal());
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  assert.ok(Math.abs(linearCka(a, 1, b, 1, n) - sab ** 2 / (saa * sbb)) < 1e-12);
  const y = Float64Array.from({ length: n * 3 }, () => r.normal());
  const viaFeatures = linearCka(x, p, y, 3, n);
  // n = 2 rows of 5 x 3 features forces the Gram form: compare on a small case both ways.
  const small = 2;
  const xs2 = x.subarray(0, small * p);
  const ys2 = y.subarray(0, small * 3);
  assert.ok(Math.abs(linearCka(xs2, p, ys2, 3, small) - 1) < 1e-12, 'two centred rows span one direction: CKA 1');
  assert.ok(viaFeatures > 0 && viaFeatures < 1);
});

test('CKA between two regressions equals tr(KHLH) / sqrt(tr(KHKH) tr(LHLH)) computed by hand', async () => {
  const other = loaded(regression(W1, b1), 'm1');
  const r = await analyze({ cka: true }, other);
  assert.ok(r.cka);
  const out = (W: number[][], b: number[]) => xs.map((x) => [0, 1].map((k) => b[k]! + x.reduce((s, v, j) => s + v * W[j]![k]!, 0)));
  const A = out(W0, b0);
  const B = out(W1, b1);
  const H = (i: number, j: number) => (i === j ? 1 : 0) - 1 / N;
  const K = A.map((u) => A.map((v) => u[0]! * v[0]! + u[1]! * v[1]!));
  const L = B.map((u) => B.map((v) => u[0]! * v[0]! + u[1]! * v[1]!));
  const center = (M: number[][]) => M.map((_, i) => M.map((__, j) => {
    let s = 0;
    for (let a = 0; a < N; a++) for (let b = 0; b < N; b++) s += H(i, a) * M[a]![b]! * H(b, j);
    return s;
  }));
  const Kc = center(K);
  const Lc = center(L);
  const dot = (P: number[][], Q: number[][]) => P.reduce((s, row, i) => s + row.reduce((t, v, j) => t + v * Q[i]![j]!, 0), 0);
  const expect = dot(Kc, Lc) / Math.sqrt(dot(Kc, Kc) * dot(Lc, Lc));
  assert.ok(Math.abs(r.cka.value - expect) < 1e-9, `${r.cka.value} vs ${expect}`);
  assert.equal(r.cka.width, 2);
});

test('classification: path accuracy and loss at the ends match a JavaScript forward pass; a model against itself has mc 0 and CKA 1; SVG artifacts', async () => {
  const { blobs, trainMlp } = await import('./helpers/mlpZoo.js');
  const train = blobs(30, 5);
  const a = await trainMlp(train, { width: 5, batchSize: 8, seed: 1, steps: 30, lr: 0.2 });
  const b = await trainMlp(train, { width: 5, batchSize: 8, seed: 2, steps: 30, lr: 0.2 });
  const ds: LoadedDataset = { sha256: 'blobs', format: 'npz', count: 30, sampleShape: [4], x: Float32Array.from(train.x.flat()), y: Int32Array.from(train.y), yShape: [] };
  /** Mean CE and accuracy from the initializers, float64. */
  const reference = (m: Model) => {
    const t = (n: string) => Array.from(m.graph.initializers.get(n)!.data as Float32Array);
    const [W1, b1, W2, b2] = ['W1', 'b1', 'W2', 'b2'].map(t) as [number[], number[], number[], number[]];
    let loss = 0;
    let hits = 0;
    train.x.forEach((x, i) => {
      const h = b1.map((v, j) => Math.max(0, v + x.reduce((s, xv, k) => s + xv * W1[j * 4 + k]!, 0)));
      const z = b2.map((v, c) => v + h.reduce((s, hv, j) => s + hv * W2[c * 5 + j]!, 0));
      const mx = Math.max(...z);
      loss += mx + Math.log(z.reduce((s, v) => s + Math.exp(v - mx), 0)) - z[train.y[i]!]!;
      if (z.indexOf(mx) === train.y[i]) hits++;
    });
    return { loss: loss / 30, accuracy: hits / 30 };
  };
  const files = new Map<string, string>();
  const run = (other: Model, sha: string, params: Partial<LandscapeParams>) =>
    landscapeAnalyzer.run({
      model: loaded(a, 'a'),
      dataset: ds,
      params: {
        surface: '2d', range: 0.5, resolution: 5, normalization: 'filter', ignoreBiasAndNorm: true, points: 5, curve: true, curveEpochs: 2, curveLr: 0.05,
        curveMomentum: 0.9, cka: true, batchSize: 8, maxSamples: 1000, loss: 'auto', precision: 'auto', seed: 0, otherModel: sha, ...params,
      } as LandscapeParams,
      progress: () => {},
      signal: new AbortController().signal,
      resolveModel: async () => loaded(other, sha),
      artifacts: { write: async (name, bytes) => void files.set(name, new TextDecoder().decode(bytes)) },
    });
  const r = await run(b, 'b', {});
  const ra = reference(a);
  const rb = reference(b);
  const tol = 1e-5;
  assert.ok(Math.abs(r.interpolation!.losses[0]! - ra.loss) < tol, `${r.interpolation!.losses[0]} vs ${ra.loss}`);
  assert.ok(Math.abs(r.interpolation!.losses.at(-1)! - rb.loss) < tol);
  assert.equal(r.interpolation!.accuracies[0], ra.accuracy);
  assert.equal(r.interpolation!.accuracies.at(-1), rb.accuracy);
  assert.equal(r.accuracy, ra.accuracy);
  assert.ok(r.cka!.value > 0 && r.cka!.value < 1 + 1e-9);
  assert.equal(r.cka!.width, 3);
  assert.deepEqual([...files.keys()].sort(), ['paths.svg', 'surface2d.svg']);
  assert.match(files.get('surface2d.svg')!, /<path d="M/, 'contour lines drawn');
  // A named layer: the hidden ReLU activations, against the same CKA of activations computed here.
  const hidden = (m: Model) => {
    const W1 = Array.from(m.graph.initializers.get('W1')!.data as Float32Array);
    const b1 = Array.from(m.graph.initializers.get('b1')!.data as Float32Array);
    return Float64Array.from(train.x.flatMap((x) => b1.map((v, j) => Math.max(0, v + x.reduce((s, xv, k) => s + xv * W1[j * 4 + k]!, 0)))));
  };
  const layer = await run(b, 'b', { surface: 'none', curve: false, ckaLayer: 'a' });
  assert.equal(layer.cka!.layer, 'a');
  assert.equal(layer.cka!.width, 5);
  assert.ok(Math.abs(layer.cka!.value - linearCka(hidden(a), 5, hidden(b), 5, 30)) < 1e-5, `${layer.cka!.value}`);
  await assert.rejects(run(b, 'b', { surface: 'none', curve: false, ckaLayer: 'nope' }), /no tensor named "nope"/);
  const self = await run(a, 'a', { surface: 'none', curve: false });
  assert.ok(Math.abs(self.interpolation!.mcLinear) < 1e-12 && Math.abs(self.interpolation!.barrier) < 1e-12);
  assert.ok(Math.abs(self.cka!.value - 1) < 1e-9);
});

test('marching squares and the diverging scale', async () => {
  const { marchingSquares, colourScale } = await import('../analyzers/common/plot.js');
  // A plane v = x on a 3x3 grid: the 0.5 level crosses each of the 2 rows of cells once, at x = 0.5.
  const segs = marchingSquares([[0, 1, 2], [0, 1, 2], [0, 1, 2]], 0.5);
  assert.equal(segs.length, 2);
  for (const [p, q] of segs) assert.deepEqual([p[0], q[0]], [0.5, 0.5]);
  const c = colourScale(-2, 1, 0);
  assert.equal(c(0), 'rgb(247,247,247)', 'white at the centre');
  assert.equal(c(1), 'rgb(178,24,43)', 'red at the top');
  assert.equal(c(-2), 'rgb(33,102,172)', 'blue at the bottom, each side stretched to its own extreme');
});
