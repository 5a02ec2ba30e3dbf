/**
 * Saliency on a real trained classifier: ONNX Runtime's MNIST model (CNTK export, opset 8,
 * fixed batch 1: exercises the opset upgrade and the batch rewrite) on 100 MNIST test images.
 * Checks what a correct saliency method must show on digits: the maps at the last conv layer
 * put more mass per pixel on the digit's strokes than on the background, they depend on the
 * class, and they change when the trained weights are re-drawn (Adebayo et al.'s sanity check).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { loadModel } from '../native/onnx/load.js';
import { loadCsv } from '../datasets/csv.js';
import { createSession, runSession } from '../native/runtime/session.js';
import { saliencyAnalyzer, candidateLayers, type SaliencyParams, type SaliencyResult } from '../analyzers/saliency/index.js';
import { validateParams } from '../analyzers/params.js';
import type { LoadedDataset, LoadedModel } from '../analyzers/types.js';
import { readTestData } from './helpers/test-data.js';

const bytes = readTestData('onnxruntime/mnist.onnx');
const model: LoadedModel = { sha256: createHash('sha256').update(bytes).digest('hex'), bytes, ir: loadModel(bytes) };
const csv = readTestData('eran/mnist_test.csv');
const dataset: LoadedDataset = loadCsv(csv, 'mnist-csv');
const LAST_CONV = 'ReLU114_Output_0';

async function analyze(params: Record<string, unknown>): Promise<SaliencyResult> {
  return saliencyAnalyzer.run({
    model,
    dataset,
    params: validateParams(saliencyAnalyzer.params, params) as SaliencyParams,
    progress: () => {},
    signal: new AbortController().signal,
  });
}

test('the model expects raw 0..255 pixels (as the CSV stores them)', async () => {
  assert.equal(dataset.count, 100);
  const session = await createSession(bytes);
  const accuracy = async (scale: number) => {
    let ok = 0;
    for (let i = 0; i < dataset.count; i++) {
      const x = Float32Array.from(dataset.x.subarray(i * 784, (i + 1) * 784), (v) => v * scale);
      const out = Object.values(await runSession(session, { Input3: { dtype: 'float32', dims: [1, 1, 28, 28], data: x } }))[0]!;
      const z = Array.from(out.data as Float32Array);
      if (z.indexOf(Math.max(...z)) === dataset.y![i]) ok++;
    }
    return ok / dataset.count;
  };
  const raw = await accuracy(1);
  const unit = await accuracy(1 / 255);
  await session.release();
  // Measured: 0.99 raw, 0.98 on [0, 1] (a ReLU net with small biases is nearly scale-invariant
  // in its argmax); the logits, and so the gradients, scale with the input, so raw it is.
  assert.ok(raw >= 0.95, `accuracy on raw pixels ${raw}`);
  assert.ok(raw >= unit, `raw ${raw} vs [0, 1] ${unit}`);
});

test('candidate layers and the default layer (the last conv activation)', async () => {
  const c = await candidateLayers(model.ir);
  assert.deepEqual(c.map((l) => l.name), ['Convolution28_Output_0', 'Plus30_Output_0', 'ReLU32_Output_0', 'Pooling66_Output_0', 'Convolution110_Output_0', 'Plus112_Output_0', LAST_CONV, 'Pooling160_Output_0']);
  const last = c.find((l) => l.name === LAST_CONV)!;
  assert.deepEqual([last.shape, last.h, last.w], [[16, 14, 14], 14, 14]);
});

/** Mean over images of (map mass per digit pixel) / (map mass per background pixel). */
function digitContrast(r: SaliencyResult): { digit: number; background: number } {
  let digit = 0;
  let background = 0;
  for (const m of r.maps) {
    const x = dataset.x.subarray(m.index * 784, (m.index + 1) * 784);
    let d = 0;
    let nd = 0;
    let b = 0;
    let nb = 0;
    m.upsampled.forEach((v, p) => {
      if (x[p]! > 128) {
        d += v;
        nd++;
      } else {
        b += v;
        nb++;
      }
    });
    digit += d / nd;
    background += b / nb;
  }
  return { digit: digit / r.maps.length, background: background / r.maps.length };
}

test('at the last conv layer, more saliency mass per pixel falls on the digit than on the background (100 images)', async () => {
  for (const p of [{ method: 'normgrad' }, { method: 'gradcampp' }, { method: 'smoothgradcampp', samples: 4, sigma: 0.1 }, { method: 'normgrad', variant: 'proper' }]) {
    const r = await analyze({ ...p, indices: 'all', target: 'label' });
    assert.equal(r.batched, true, 'the fixed-batch export was made batchable');
    assert.equal(r.maps.length, 100);
    assert.deepEqual(r.maps[0]!.upsampledShape, [28, 28]);
    const c = digitContrast(r);
    assert.ok(c.digit > 1.5 * c.background, `${JSON.stringify(p)}: digit ${c.digit} vs background ${c.background}`);
  }
});

test('sanity checks: maps depend on the class and change when the weights are re-drawn', async () => {
  const run = (p: Record<string, unknown>) => analyze({ ...p, indices: '0-9', target: 'label', metrics: ['classSensitivity', 'randomization'], seed: 1 });
  const gradcam = await run({ method: 'gradcam' });
  const identity = await run({ method: 'normgrad' });
  const selective = await run({ method: 'normgrad', variant: 'selective' });
  // Measured here: Grad-CAM 0.15, NormGrad virtual-identity 0.94, selective 0.61. Rebuffi et
  // al. report the same ordering: the virtual-identity form is nearly class-blind, and
  // selective NormGrad was introduced to fix that.
  assert.ok(gradcam.metrics!.classSensitivity!.mean < 0.5, `Grad-CAM: ${gradcam.metrics!.classSensitivity!.mean}`);
  assert.ok(selective.metrics!.classSensitivity!.mean < identity.metrics!.classSensitivity!.mean - 0.1, 'selective NormGrad is more class-sensitive');
  for (const r of [gradcam, identity, selective]) {
    const rz = r.metrics!.randomization!;
    // Dense layer, then the two convs, top first.
    assert.deepEqual(rz.steps.map((s) => s.randomized), [['Times212'], ['Times212', 'Convolution110'], ['Times212', 'Convolution110', 'Convolution28']]);
    assert.ok(rz.finalSpearman < 0.9, `${r.method}/${r.variant}: fully re-drawn maps still correlate ${rz.finalSpearman}`);
  }
  assert.ok(gradcam.metrics!.randomization!.finalSpearman < 0.5);
});
