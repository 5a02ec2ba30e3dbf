/** Real MNIST test digits (ERAN's mnist_test.csv: label, 784 pixels 0..255), scaled to [0, 1]. */
import { readFileSync } from 'node:fs';
import { testData } from './test-data.js';

export const MNIST_CSV = testData('eran/mnist_test.csv');

export function mnistRows(count: number, from = 0): { label: number; pixels: number[] }[] {
  const lines = readFileSync(MNIST_CSV, 'utf8').split('\n').filter((l) => l.trim().length > 0);
  return lines.slice(from, from + count).map((l) => {
    const v = l.split(',').map(Number);
    return { label: v[0]!, pixels: v.slice(1).map((p) => p / 255) };
  });
}
