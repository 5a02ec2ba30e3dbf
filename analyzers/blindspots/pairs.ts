/** Which (source, target) pairs to traverse. */
import { AppError } from '../../common/errors.js';

export interface Pair {
  source: number;
  target: number;
}

/** First index of each class, in class order. */
function firstOfEachClass(labels: Int32Array): Map<number, number> {
  const first = new Map<number, number>();
  labels.forEach((y, i) => {
    if (!first.has(y)) first.set(y, i);
  });
  return new Map([...first].sort((a, b) => a[0] - b[0]));
}

/**
 * Default: one source per class, each paired with one image of every other class. Given sources
 * only: each paired with one image of every other class. Given both: every source x target
 * pair whose labels differ.
 */
export function selectPairs(labels: Int32Array, sources: number[] | undefined, targets: number[] | undefined, maxPairs: number): Pair[] {
  const n = labels.length;
  for (const i of [...(sources ?? []), ...(targets ?? [])]) {
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new AppError('BAD_PARAMS', `sample index ${i} is outside the dataset (0..${n - 1})`);
  }
  const first = firstOfEachClass(labels);
  const src = sources && sources.length > 0 ? sources : [...first.values()];
  const pairs: Pair[] = [];
  for (const s of src) {
    const candidates = targets && targets.length > 0 ? targets : [...first.values()];
    for (const t of candidates) if (labels[t] !== labels[s]) pairs.push({ source: s, target: t });
  }
  if (pairs.length === 0) throw new AppError('BAD_PARAMS', 'no source/target pair with different classes');
  if (pairs.length > maxPairs) throw new AppError('BAD_PARAMS', `${pairs.length} pairs requested; maxPairs is ${maxPairs}`);
  return pairs;
}
