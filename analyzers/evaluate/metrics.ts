/**
 * Loss and accuracy from model outputs, in float64, one sample at a time (so datasets stream).
 * Pure JavaScript on purpose: it is the independent reference the autodiff's ONNX loss head
 * can be checked against, and it needs no graph surgery.
 */
import type { OutputKind } from '../../native/onnx/output-kind.js';

/** Same names as native/autodiff/loss.ts, so results read alike across analyzers. */
export type LossKind = 'cross-entropy' | 'nll' | 'nll-of-probabilities' | 'binary-cross-entropy' | 'mse';

export function lossKindFor(kind: OutputKind, loss: 'auto' | 'mse'): LossKind {
  if (loss === 'mse') return 'mse';
  switch (kind) {
    case 'logits':
      return 'cross-entropy';
    case 'log-probabilities':
      return 'nll';
    case 'probabilities':
      return 'nll-of-probabilities';
    case 'sigmoid':
      return 'binary-cross-entropy';
  }
}

/** log(sum(exp(z))) without overflow: shift by the max. */
export function logSumExp(z: ArrayLike<number>, offset: number, n: number): number {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (z[offset + i]! > max) max = z[offset + i]!;
  if (max === -Infinity) return -Infinity;
  if (max === Infinity) return Infinity;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(z[offset + i]! - max);
  return max + Math.log(sum);
}

export { argmax } from '../common/argmax.js';

/**
 * The smallest positive float32 (denormal). A float32 probability of exactly 0 is an underflow,
 * so -log(p) is clamped to -log(this) ~ 103.3 instead of Infinity (which JSON cannot carry).
 */
export const MIN_PROBABILITY = 1.401298464324817e-45;

/** softplus(z) = log(1 + e^z), stable for large |z|. */
export const softplus = (z: number): number => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));

/** Per-sample classification loss; `row` is the output of one sample (K values). */
export function sampleLoss(kind: Exclude<LossKind, 'mse' | 'binary-cross-entropy'>, row: ArrayLike<number>, offset: number, k: number, label: number): number {
  const v = row[offset + label]!;
  switch (kind) {
    case 'cross-entropy':
      return logSumExp(row, offset, k) - v;
    case 'nll':
      return -v;
    case 'nll-of-probabilities':
      return -Math.log(Math.max(v, MIN_PROBABILITY));
  }
}

/** BCE from the logit z (before the sigmoid): softplus(z) - y z, exact for any z. */
export const bceFromLogit = (z: number, y: number): number => softplus(z) - y * z;

export interface PerClass {
  class: number;
  name?: string;
  count: number;
  correct: number;
  /** null when the class has no samples. */
  accuracy: number | null;
}

/**
 * Confusion matrices and per-class tables stop here: beyond it (a recognizer's 6,625 characters)
 * a classes x classes array costs more memory than any reader wants from it.
 */
export const MAX_CONFUSION_CLASSES = 1000;

/**
 * Running totals for classification: loss sum (float64), correct count, and, for at most
 * MAX_CONFUSION_CLASSES classes, the confusion matrix (rows: true class, columns: predicted).
 */
export class ClassificationTally {
  lossSum = 0;
  count = 0;
  correct = 0;
  readonly confusion: number[][] | null;

  constructor(readonly numClasses: number) {
    this.confusion = numClasses <= MAX_CONFUSION_CLASSES ? Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0)) : null;
  }

  add(loss: number, label: number, predicted: number): void {
    this.lossSum += loss;
    this.count++;
    if (label === predicted) this.correct++;
    if (this.confusion) this.confusion[label]![predicted]!++;
  }

  perClass(names?: string[]): PerClass[] | null {
    return (
      this.confusion?.map((row, c) => {
        const count = row.reduce((a, b) => a + b, 0);
        const correct = row[c]!;
        return { class: c, ...(names?.[c] !== undefined ? { name: names[c] } : {}), count, correct, accuracy: count > 0 ? correct / count : null };
      }) ?? null
    );
  }
}
