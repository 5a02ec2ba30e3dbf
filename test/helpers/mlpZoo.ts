/**
 * A small zoo of MLP classifiers made by code: 3 Gaussian blobs in 4 dimensions, MLPs
 * 4 -> width -> 3 (Gemm, Relu, Gemm; logits) trained with the project's own gradient graph
 * (LossRunner.gradient, plain SGD) at a given batch size (the "temperature") from a seeded
 * initialization. Used by the zoo tests and bench/zoo.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { int, serializeModel, type Model } from '../../native/onnx/ir.js';
import { tensor, type Tensor } from '../../native/onnx/tensor.js';
import { prepareLossModel } from '../../native/autodiff/index.js';
import { LossRunner, type Batch } from '../../native/autodiff/runner.js';
import { Rng } from '../../common/random.js';

export const FEATURES = 4;
export const CLASSES = 3;

export interface Blobs {
  x: number[][];
  y: number[];
}

/** n samples of 3 Gaussian blobs (class means on a simplex, unit noise times `spread`). */
export function blobs(n: number, seed: number, spread = 0.8): Blobs {
  const rng = new Rng(seed);
  const means = [[2, 0, 0, 1], [0, 2, 0, -1], [0, 0, 2, 0]];
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % CLASSES;
    y.push(c);
    x.push(means[c]!.map((m) => Math.fround(m + spread * rng.normal())));
  }
  return { x, y };
}

export function blobsCsv(b: Blobs): string {
  return `label,${Array.from({ length: FEATURES }, (_, i) => `f${i}`).join(',')}\n${b.x.map((r, i) => `${b.y[i]},${r.join(',')}`).join('\n')}\n`;
}

/** The MLP graph with the given weights (float32 initializers, symbolic batch, typed output). */
export function mlp(width: number, w: Record<'W1' | 'b1' | 'W2' | 'b2', ArrayLike<number>>): Model {
  const init = new Map<string, Tensor>([
    ['W1', tensor('float32', [width, FEATURES], w.W1)],
    ['b1', tensor('float32', [width], w.b1)],
    ['W2', tensor('float32', [CLASSES, width], w.W2)],
    ['b2', tensor('float32', [CLASSES], w.b2)],
  ]);
  const node = (opType: string, inputs: string[], outputs: string[], attrs = {}) => ({ opType, domain: '', name: outputs[0]!, inputs, outputs, attrs });
  return {
    irVersion: 9,
    opsets: new Map([['', 18]]),
    producerName: 'onnxscope-tests',
    producerVersion: '0',
    graph: {
      name: 'mlp',
      nodes: [
        node('Gemm', ['x', 'W1', 'b1'], ['h'], { transB: int(1) }),
        node('Relu', ['h'], ['a']),
        node('Gemm', ['a', 'W2', 'b2'], ['logits'], { transB: int(1) }),
      ],
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', FEATURES] }],
      outputs: [{ name: 'logits', dtype: 'float32', shape: ['N', CLASSES] }],
      initializers: init,
      valueInfo: new Map(),
    },
  };
}

export interface TrainSpec {
  width: number;
  batchSize: number;
  seed: number;
  steps: number;
  lr: number;
}

/** Trains an MLP by SGD with the autodiff's gradient graph; returns the trained model. */
export async function trainMlp(data: Blobs, spec: TrainSpec): Promise<Model> {
  const rng = new Rng(1000 + spec.seed);
  const he = (n: number, fanIn: number) => Array.from({ length: n }, () => rng.normal() * Math.sqrt(2 / fanIn));
  const init = mlp(spec.width, { W1: he(spec.width * FEATURES, FEATURES), b1: new Array(spec.width).fill(0), W2: he(CLASSES * spec.width, spec.width), b2: [0, 0, 0] });
  const prepared = await prepareLossModel(init, { precision: 'float32' });
  const runner = await LossRunner.create(prepared, { gradient: true });
  try {
    const theta = runner.parameterVector();
    const order = new Rng(7 + spec.seed);
    for (let s = 0; s < spec.steps; s++) {
      const idx = Array.from({ length: spec.batchSize }, () => order.int(data.y.length));
      const batch: Batch = {
        inputs: { x: tensor('float32', [idx.length, FEATURES], idx.flatMap((i) => data.x[i]!)) },
        labels: tensor('int64', [idx.length], idx.map((i) => data.y[i]!)),
        weights: tensor('float64', [idx.length], new Array(idx.length).fill(1 / idx.length)),
      };
      runner.setParameters(theta);
      const { grad } = await runner.gradient(batch);
      for (let i = 0; i < theta.length; i++) theta[i] = theta[i]! - spec.lr * grad[i]!;
    }
    const parts: Record<string, Float32Array> = {};
    let o = 0;
    for (const p of prepared.params) {
      const n = prepared.values.get(p)!.data.length;
      parts[p] = Float32Array.from(theta.subarray(o, o + n));
      o += n;
    }
    return mlp(spec.width, parts as Record<'W1' | 'b1' | 'W2' | 'b2', Float32Array>);
  } finally {
    await runner.release();
  }
}

export interface ZooFixture {
  dir: string;
  manifest: string;
  train: string;
  test: string;
  specs: TrainSpec[];
}

/**
 * Writes a trained zoo to dir: models/*.onnx, manifest.json (file + width, batchSize, seed),
 * train.csv and test.csv.
 */
export async function writeMlpZoo(dir: string, opts: { widths: number[]; batchSizes: number[]; seeds: number[]; steps: number; lr?: number }): Promise<ZooFixture> {
  mkdirSync(path.join(dir, 'models'), { recursive: true });
  const train = blobs(60, 1);
  const test = blobs(30, 2);
  writeFileSync(path.join(dir, 'train.csv'), blobsCsv(train));
  writeFileSync(path.join(dir, 'test.csv'), blobsCsv(test));
  const specs: TrainSpec[] = [];
  const entries: Array<Record<string, unknown>> = [];
  for (const width of opts.widths) {
    for (const batchSize of opts.batchSizes) {
      for (const seed of opts.seeds) {
        const spec = { width, batchSize, seed, steps: opts.steps, lr: opts.lr ?? 0.2 };
        specs.push(spec);
        const file = `models/mlp_w${width}_b${batchSize}_s${seed}.onnx`;
        writeFileSync(path.join(dir, file), serializeModel(await trainMlp(train, spec)));
        entries.push({ file, width, batchSize, seed, epoch: 1 });
      }
    }
  }
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ name: 'mlp-zoo', models: entries }, null, 2));
  return { dir, manifest: path.join(dir, 'manifest.json'), train: path.join(dir, 'train.csv'), test: path.join(dir, 'test.csv'), specs };
}
