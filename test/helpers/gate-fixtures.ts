/**
 * Gate fixtures: a 4-feature, 3-class linear classifier, variants of it, and a dataset whose
 * accuracy and Hessian trace ratios are known by hand.
 *
 * - `good`: logits = x W. Labels are argmax(x W) except for the first FLIPPED samples, so its
 *   accuracy is (N - FLIPPED) / N exactly.
 * - `permuted`: W's columns rotated, so its accuracy is low (computed in the test from W).
 * - `sharper`: logits = (3 x)(W / 3): the same function, so the same loss and accuracy, but the
 *   Hessian w.r.t. its weight is the good model's times 9 (H = sum x x^T (x) (diag p - p p^T),
 *   with x scaled by 3 and p unchanged), so its trace is 9 times as large.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serializeModel, type Model } from '../../native/onnx/ir.js';
import { tensor } from '../../native/onnx/tensor.js';
import { writeNpz } from '../../datasets/npz.js';
import { Rng } from '../../common/random.js';
import { tinyModel } from './tiny-models.js';

export const FEATURES = 4;
export const CLASSES = 3;
export const SAMPLES = 24;
export const FLIPPED = 4;

export const W = [0.9, -0.4, 0.2, -0.3, 0.8, -0.5, 0.1, 0.3, 0.7, -0.6, -0.2, 0.4];

export function linearModel(weights: number[], inputScale?: number): Model {
  const nodes = inputScale === undefined
    ? [{ op: 'MatMul', inputs: ['x', 'W'], outputs: ['logits'] }]
    : [
        { op: 'Mul', inputs: ['x', 'scale'], outputs: ['xs'] },
        { op: 'MatMul', inputs: ['xs', 'W'], outputs: ['logits'] },
      ];
  return tinyModel({
    input: { name: 'x', shape: ['N', FEATURES] },
    output: { name: 'logits', shape: ['N', CLASSES] },
    nodes,
    initializers: {
      W: tensor('float32', [FEATURES, CLASSES], weights),
      ...(inputScale === undefined ? {} : { scale: tensor('float32', [], [inputScale]) }),
    },
  });
}

/** W with its columns rotated: class c takes the weights of class c + 1. */
export const PERMUTED_W = W.map((_, i) => W[Math.floor(i / CLASSES) * CLASSES + ((i % CLASSES) + 1) % CLASSES]!);

export function gateDataset(): { x: Float32Array; y: number[] } {
  const rng = new Rng(7);
  const x = new Float32Array(SAMPLES * FEATURES);
  for (let i = 0; i < x.length; i++) x[i] = rng.uniform(-1, 1);
  const y = Array.from({ length: SAMPLES }, (_, n) => {
    const best = argmaxLogits(W, x, n);
    return n < FLIPPED ? (best + 1) % CLASSES : best;
  });
  return { x, y };
}

/** argmax_c sum_f x[n, f] w[f, c], in float64. */
export function argmaxLogits(weights: number[], x: Float32Array, n: number): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let c = 0; c < CLASSES; c++) {
    let v = 0;
    for (let f = 0; f < FEATURES; f++) v += x[n * FEATURES + f]! * weights[f * CLASSES + c]!;
    if (v > bestValue) [best, bestValue] = [c, v];
  }
  return best;
}

export function accuracyOf(weights: number[]): number {
  const { x, y } = gateDataset();
  return y.filter((label, n) => argmaxLogits(weights, x, n) === label).length / SAMPLES;
}

export interface GateFiles {
  dir: string;
  good: string;
  permuted: string;
  sharper: string;
  data: string;
}

/** The fixture models and dataset as files in a fresh temp dir. */
export function writeGateFixtures(): GateFiles {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-gate-'));
  const file = (name: string, bytes: Uint8Array) => {
    const p = path.join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  const { x, y } = gateDataset();
  return {
    dir,
    good: file('good.onnx', serializeModel(linearModel(W))),
    permuted: file('permuted.onnx', serializeModel(linearModel(PERMUTED_W))),
    sharper: file('sharper.onnx', serializeModel(linearModel(W.map((w) => w / 3), 3))),
    data: file('data.npz', writeNpz({ x: { dtype: 'f4', shape: [SAMPLES, FEATURES], data: x }, y: { dtype: 'i8', shape: [SAMPLES], data: BigInt64Array.from(y, BigInt) } })),
  };
}
