/**
 * GridSample, expanded into primitives (native/onnx/decompose-gridsample.ts):
 *  - the expansion reproduces ONNX Runtime's own GridSample (float32 and float64), for every
 *    mode x padding_mode x align_corners, 2-D (opsets 16 and 20 spellings) and 3-D, at two batch
 *    sizes, and the expected outputs stored with ONNX's backend tests;
 *  - gradients in X and in the grid, and HVPs, match central finite differences in float64
 *    (of y^2, so the HVP has X-X, X-grid and grid-grid blocks), with grid points kept away from
 *    the kinks (coordinates crossing an integer; a half-integer for nearest), and the graphs
 *    built with a symbolic batch compute the same at another batch size;
 *  - what ONNX Runtime cannot run (5-D cubic, a mode spelled for the other opset) or an unknown
 *    rank is left unexpanded and reported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import '../native/autodiff/rules/index.js';
import { buildModel } from './helpers/onnx-builder.js';
import { assertGradientAndHvp, checkGradient } from './helpers/gradcheck.js';
import { dynamicBatchDiff } from './helpers/dynamic-batch.js';
import { int, str, type Model } from '../native/onnx/ir.js';
import { tensor, type Tensor } from '../native/onnx/tensor.js';
import type { DType } from '../native/onnx/dtype.js';
import { loadModel } from '../native/onnx/load.js';
import { upgradeOpset } from '../native/onnx/upgrade.js';
import { runModelOnce } from '../native/runtime/session.js';
import { unsupportedOps } from '../native/autodiff/registry.js';
import { assertSupported } from '../native/autodiff/index.js';
import { Rng } from '../common/random.js';
import { onnxBackendData, readBackendTensor } from './helpers/onnx-backend.js';

type Mode = 'linear' | 'nearest' | 'cubic';
type Padding = 'zeros' | 'border' | 'reflection';
const MODES: Mode[] = ['linear', 'nearest', 'cubic'];
const PADDINGS: Padding[] = ['zeros', 'border', 'reflection'];
const SPELLED_16: Record<Mode, string> = { linear: 'bilinear', nearest: 'nearest', cubic: 'bicubic' };

interface Config {
  opset: number;
  mode: Mode;
  padding: Padding;
  align: 0 | 1;
  /** Spatial sizes of X and of the output. */
  input: number[];
  output: number[];
  channels: number;
}

const numel = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
const label = (c: Config) => `opset ${c.opset} ${c.input.length}-D ${c.mode} ${c.padding} align_corners=${c.align}`;

/** GridSample(x [N, C, ...], g [N, ..., S]), optionally squared (a nonlinear head for the HVP). */
function gridSampleModel(c: Config, dtype: DType, squared: boolean, outputs = ['y']): Model {
  const S = c.input.length;
  return buildModel({
    opset: c.opset,
    inputs: [
      { name: 'x', dims: ['N', c.channels, ...c.input], dtype },
      { name: 'g', dims: ['N', ...c.output, S], dtype },
    ],
    nodes: [
      {
        op: 'GridSample',
        inputs: ['x', 'g'],
        outputs: ['y'],
        attrs: { mode: str(c.opset < 20 ? SPELLED_16[c.mode] : c.mode), padding_mode: str(c.padding), align_corners: int(c.align) },
      },
      ...(squared ? [{ op: 'Mul', inputs: ['y', 'y'], outputs: ['z'] }] : []),
    ],
    outputs: squared ? ['z'] : outputs,
  });
}

const expanded = (m: Model): Model => {
  const up = upgradeOpset(m);
  assert.ok(!up.graph.nodes.some((n) => n.opType === 'GridSample'), 'GridSample is expanded');
  return up;
};

function randomX(rng: Rng, c: Config, batch: number, dtype: DType): Tensor {
  const dims = [batch, c.channels, ...c.input];
  return tensor(dtype, dims, Array.from({ length: numel(dims) }, () => rng.uniform(-1, 1)));
}

/**
 * A grid whose coordinates u (pixel units) lie well inside the smooth pieces: u = j + f with j an
 * integer from -size to 2 size (in range, out of range, reflected more than once) and f in
 * [0.15, 0.85] (linear, cubic), or u = j + [-0.35, 0.35] for nearest. Mapped back to [-1, 1]
 * units by inverting the align_corners rule.
 */
function smoothGrid(rng: Rng, c: Config, batch: number): Tensor {
  const S = c.input.length;
  const dims = [batch, ...c.output, S];
  const data: number[] = [];
  for (let p = 0; p < numel(dims) / S; p++) {
    for (let comp = 0; comp < S; comp++) {
      const size = c.input[S - 1 - comp]!; // the grid lists x (X's last axis) first
      const j = -size + rng.int(3 * size + 1);
      const u = c.mode === 'nearest' ? j + rng.uniform(-0.35, 0.35) : j + rng.uniform(0.15, 0.85);
      data.push(c.align ? (2 * u) / (size - 1) - 1 : (2 * u + 1) / size - 1);
    }
  }
  return tensor('float64', dims, data);
}

function maxAbsDiff(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.dims, b.dims);
  let worst = 0;
  for (let i = 0; i < a.data.length; i++) worst = Math.max(worst, Math.abs(Number(a.data[i]) - Number(b.data[i])));
  return worst;
}

const CONFIGS_2D = (opset: number): Config[] =>
  MODES.flatMap((mode) =>
    PADDINGS.flatMap((padding) => ([0, 1] as const).map((align) => ({ opset, mode, padding, align, input: [4, 5], output: [3, 4], channels: 3 }))),
  );
const CONFIGS_3D: Config[] = (['linear', 'nearest'] as const).flatMap((mode) =>
  PADDINGS.flatMap((padding) => ([0, 1] as const).map((align) => ({ opset: 22, mode, padding, align, input: [3, 4, 5], output: [2, 3, 2], channels: 2 }))),
);

test('the expansion reproduces ONNX Runtime GridSample: every mode, padding and align_corners, 2-D and 3-D, two batch sizes', async () => {
  const rng = new Rng(21);
  let checked = 0;
  for (const c of [...CONFIGS_2D(16), ...CONFIGS_2D(20), ...CONFIGS_3D]) {
    // ORT's GridSample-16 kernel is float32 only; 20 and 22 have float64 too.
    for (const dtype of (c.opset < 20 ? ['float32'] : ['float32', 'float64']) as DType[]) {
      const model = gridSampleModel(c, dtype, false);
      const expansion = expanded(model);
      for (const batch of [2, 3]) {
        const S = c.input.length;
        const gDims = [batch, ...c.output, S];
        // Uniform in [-4, 4]: far out of range, so zeros, clamping and repeated reflections all occur.
        const feeds = { x: randomX(rng, c, batch, dtype), g: tensor(dtype, gDims, Array.from({ length: numel(gDims) }, () => rng.uniform(-4, 4))) };
        const want = (await runModelOnce(model, feeds)).y!;
        const got = (await runModelOnce(expansion, feeds)).y!;
        const tol = dtype === 'float32' ? 1e-5 : 1e-12;
        assert.ok(maxAbsDiff(got, want) <= tol, `${label(c)} ${dtype} batch ${batch}: off by ${maxAbsDiff(got, want)}`);
        checked++;
      }
    }
  }
  assert.equal(checked, 2 * (18 + 36 + 24));
});

test('the expansion reproduces the expected outputs of ONNX backend tests test_gridsample_*', async (t) => {
  const root = onnxBackendData('node');
  const cases = readdirSync(root).filter((n) => n.startsWith('test_gridsample'));
  for (const name of cases) {
    const dir = join(root, name);
    const read = (f: string): Tensor => readBackendTensor(join(dir, 'test_data_set_0', f));
    const model = expanded(loadModel(readFileSync(join(dir, 'model.onnx'))));
    const feeds: Record<string, Tensor> = {};
    model.graph.inputs.forEach((v, k) => (feeds[v.name] = read(`input_${k}.pb`)));
    const got = (await runModelOnce(model, feeds))[model.graph.outputs[0]!.name]!;
    // The stored outputs are written to 4 decimals (test_gridsample_bicubic: 1.7556 for 1.7555528).
    assert.ok(maxAbsDiff(got, read('output_0.pb')) <= 1e-4, `${name}: off by ${maxAbsDiff(got, read('output_0.pb'))}`);
  }
  t.diagnostic(`${cases.length} backend models reproduced`);
  assert.ok(cases.length >= 8);
});

// 2-D at both spellings (opset 16 for align_corners 0, opset 20 for 1), and 3-D.
const GRADIENT_CONFIGS = [
  ...CONFIGS_2D(16).filter((c) => c.align === 0),
  ...CONFIGS_2D(20).filter((c) => c.align === 1),
  ...CONFIGS_3D.filter((c) => c.mode === 'linear' || c.padding === 'reflection'),
];

for (const c of GRADIENT_CONFIGS) {
  test(`GridSample ${label(c)}: gradients in X and grid and the HVP match finite differences`, async () => {
    const model = expanded(gridSampleModel(c, 'float64', true));
    const feedsAt = (batch: number) => {
      const rng = new Rng(100 + batch);
      return { x: randomX(rng, c, batch, 'float64'), g: smoothGrid(rng, c, batch) };
    };
    await assertGradientAndHvp(model, feedsAt(2), label(c));
    // The grid's own gradient: nonzero and right for linear and cubic, exactly 0 for nearest.
    const g = await checkGradient(model, feedsAt(2), { wrt: ['g'] });
    if (c.mode === 'nearest') assert.ok(g.analytic === 0 && Math.abs(g.numeric) < 1e-6, `${label(c)} grid gradient: ${JSON.stringify(g)}`);
    else assert.ok(g.ok && Math.abs(g.analytic) > 1e-3, `${label(c)} grid gradient: ${JSON.stringify(g)}`);
    // Graphs built from shapes probed at batches 2 and 3 (batch symbolic), run at batch 4.
    const diff = await dynamicBatchDiff(model, feedsAt, ['x', 'g'], 4);
    assert.ok(diff < 1e-9, `${label(c)}: symbolic-batch graphs differ by ${diff}`);
  });
}

test('GridSample forms ONNX Runtime cannot run, or of unknown rank, stay unexpanded and are reported', () => {
  const refused = (m: Model, why: RegExp) => {
    const up = upgradeOpset(m);
    assert.deepEqual(unsupportedOps(up), ['GridSample']);
    assert.throws(() => assertSupported(up), (e: Error) => why.test(e.message), why.source);
  };
  const spelled = (opset: number, mode: string, x: number[], g: number[]) =>
    buildModel({
      opset,
      inputs: [{ name: 'x', dims: x, dtype: 'float32' }, { name: 'g', dims: g, dtype: 'float32' }],
      nodes: [{ op: 'GridSample', inputs: ['x', 'g'], outputs: ['y'], attrs: { mode: str(mode) } }],
      outputs: ['y'],
    });
  refused(spelled(20, 'cubic', [1, 1, 3, 4, 5], [1, 2, 2, 2, 3]), /cubic mode on 5-D input/);
  // Each opset has its own spelling (ONNX Runtime rejects the other one).
  refused(spelled(16, 'linear', [1, 1, 4, 4], [1, 2, 2, 2]), /"linear" is not a GridSample-16 mode/);
  refused(spelled(20, 'bilinear', [1, 1, 4, 4], [1, 2, 2, 2]), /"bilinear" is not a GridSample-20 mode/);
  // X and grid reshaped at run time to shapes nothing declares: the rank is unknown at opset 20.
  const unknownRank = buildModel({
    opset: 20,
    inputs: [
      { name: 'x0', dims: [16], dtype: 'float32' },
      { name: 'g0', dims: [8], dtype: 'float32' },
      { name: 'sx', dims: [4], dtype: 'int64' },
      { name: 'sg', dims: [4], dtype: 'int64' },
    ],
    nodes: [
      { op: 'Reshape', inputs: ['x0', 'sx'], outputs: ['x'] },
      { op: 'Reshape', inputs: ['g0', 'sg'], outputs: ['g'] },
      { op: 'GridSample', inputs: ['x', 'g'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
  refused(unknownRank, /rank of X is not known/);
});
