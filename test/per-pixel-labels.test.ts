/**
 * Segmentation-style outputs ([N, C, H, W], classes on axis 1) with a class index per pixel
 * (y [N, H, W]): evaluate and gradients compute the per-pixel cross-entropy, checked against the
 * same sums written out here; labels that fit no layout are BAD_DATASET naming the shapes that
 * would (never onnxruntime's "Invalid rank for input: labels").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildModel } from './helpers/onnx-builder.js';
import { serializeModel } from '../native/onnx/ir.js';
import { tensor } from '../native/onnx/tensor.js';
import { getAnalyzer } from '../analyzers/registry.js';
import { validateParams } from '../analyzers/params.js';
import { runSpecialized } from '../analyzers/common/fixed-dims.js';
import type { LoadedDataset } from '../analyzers/types.js';
import { AppError } from '../common/errors.js';

const H = 4;
const W = 5;
const N = 3;
const C = 3;
const WEIGHTS = [0.5, -0.3, 0.2];
const BIAS = [0, 0.1, -0.1];

// A 1x1 convolution from one channel to C: per pixel, z_c = w_c * x + b_c.
const model = buildModel({
  inputs: [{ name: 'x', dtype: 'float32', dims: ['N', 1, H, W] }],
  nodes: [{ op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { kernel_shape: { kind: 'ints', value: [1, 1] } } }],
  outputs: ['y'],
  initializers: { w: tensor('float32', [C, 1, 1, 1], WEIGHTS), b: tensor('float32', [C], BIAS) },
});
const x = Float32Array.from({ length: N * H * W }, (_, i) => Math.fround(3 * Math.sin(i * 0.7)));
const masks = Int32Array.from({ length: N * H * W }, (_, i) => (i * 7) % C);

const dataset = (y: Int32Array, yShape: number[]): LoadedDataset => ({ sha256: `d:${yShape.join('x')}`, format: 'npz', count: N, sampleShape: [1, H, W], x, y, yShape });

async function run(name: string, y: Int32Array, yShape: number[]) {
  const analyzer = getAnalyzer(name);
  return (await runSpecialized(analyzer, {
    model: { sha256: 'per-pixel-model', bytes: serializeModel(model), ir: model },
    dataset: dataset(y, yShape),
    params: validateParams(analyzer.params, {}),
    progress: () => {},
    signal: new AbortController().signal,
  })) as Record<string, any>;
}

/** Mean over pixels of the cross-entropy, mean over samples; pixel accuracy; the gradient's norm over w and b. */
function reference() {
  let loss = 0;
  let right = 0;
  const gw = [0, 0, 0];
  const gb = [0, 0, 0];
  const pixels = N * H * W;
  for (let i = 0; i < pixels; i++) {
    const z = WEIGHTS.map((w, c) => Math.fround(w) * x[i]! + Math.fround(BIAS[c]!));
    const max = Math.max(...z);
    const sum = z.reduce((a, v) => a + Math.exp(v - max), 0);
    const label = masks[i]!;
    loss += max + Math.log(sum) - z[label]!;
    if (z.indexOf(max) === label) right++;
    for (let c = 0; c < C; c++) {
      const g = Math.exp(z[c]! - max) / sum - (c === label ? 1 : 0);
      gw[c] += (g * x[i]!) / pixels;
      gb[c] += g / pixels;
    }
  }
  const gradNorm = Math.sqrt([...gw, ...gb].reduce((a, g) => a + g * g, 0));
  return { loss: loss / pixels, accuracy: right / pixels, gradNorm };
}

test('[N, C, H, W] with y [N, H, W]: evaluate and gradients give the per-pixel cross-entropy', async () => {
  const want = reference();
  const ev = await run('evaluate', masks, [H, W]);
  assert.equal(ev.labelLayout, 'per-pixel');
  assert.equal(ev.lossKind, 'cross-entropy');
  assert.ok(Math.abs(ev.loss - want.loss) < 1e-5 * want.loss, `evaluate loss ${ev.loss}, expected ${want.loss}`);
  assert.ok(Math.abs(ev.accuracy - want.accuracy) < 1e-12, `accuracy ${ev.accuracy}, expected ${want.accuracy}`);
  const gr = await run('gradients', masks, [H, W]);
  assert.ok(Math.abs(gr.loss - want.loss) < 1e-5 * want.loss, `gradients loss ${gr.loss}, expected ${want.loss}`);
  assert.ok(Math.abs(gr.gradNorm - want.gradNorm) < 1e-4 * want.gradNorm, `gradNorm ${gr.gradNorm}, expected ${want.gradNorm}`);
});

test('labels that fit no layout of a per-pixel output are BAD_DATASET naming the shapes that would fit', async () => {
  const one = Int32Array.from({ length: N }, (_, i) => i % C);
  for (const name of ['evaluate', 'gradients']) {
    await assert.rejects(run(name, one, []), (err: AppError) => {
      assert.equal(err.code, 'BAD_DATASET');
      assert.match(err.message, new RegExp(`per-sample shape \\[${C}, ${H}, ${W}\\].*\\[${H}, ${W}\\] \\(a class index per pixel, classes on axis 1`));
      return true;
    });
    const wrong = Int32Array.from({ length: N * W }, () => 0);
    await assert.rejects(run(name, wrong, [W]), (err: AppError) => {
      assert.equal(err.code, 'BAD_DATASET');
      assert.match(err.message, new RegExp(`per pixel \\(classes on axis 1\\) \\[${H}, ${W}\\]`));
      return true;
    });
  }
});
