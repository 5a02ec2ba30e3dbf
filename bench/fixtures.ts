/**
 * Bench inputs: the real models in test/data and MNIST rows from test/data/eran,
 * tiled when a bench needs more samples than the 100 that ship.
 */
import { readTestData } from '../test/helpers/test-data.js';
import { loadModel } from '../native/onnx/load.js';
import { loadDataset } from '../datasets/index.js';
import type { LoadedDataset } from '../analyzers/types.js';
import type { Model } from '../native/onnx/ir.js';

export function testDataModel(relative: string): Model {
  return loadModel(readTestData(relative));
}

/** The 100 MNIST test rows, pixels scaled to [0, 1], tiled to `count` samples. */
export function mnist(count = 100, shape: number[] = [1, 28, 28]): LoadedDataset {
  const base = loadDataset(readTestData('eran/mnist_test.csv'), 'csv', 'mnist', { preprocessing: { scale: 1 / 255 } });
  return tile(base, count, shape);
}

export function tile(d: LoadedDataset, count: number, shape = d.sampleShape): LoadedDataset {
  const per = d.sampleShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(count * per);
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    x.set(d.x.subarray((i % d.count) * per, ((i % d.count) + 1) * per), i * per);
    y[i] = (d.y as Int32Array)[i % d.count]!;
  }
  return { ...d, count, x, y, sampleShape: shape };
}
