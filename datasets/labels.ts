/**
 * Labels as users have them: class names (CSV text labels, npz string arrays, image folder
 * names) become indices, in sorted order unless the user gives the order (`classes`);
 * integer one-hot rows become indices. Shared by every loader so names map the same way.
 */
import { badDataset } from './limits.js';

/**
 * Class names -> indices. With `given`, name i of `given` is label i and a name outside it is
 * refused (naming the sample via `where`); without, the distinct names in sorted order.
 */
export function classIndices(names: string[], given: string[] | undefined, where: (i: number) => string): { y: Int32Array; classes: string[]; order: string } {
  const classes = given ?? [...new Set(names)].sort();
  const index = new Map(classes.map((c, i) => [c, i]));
  const y = new Int32Array(names.length);
  names.forEach((n, i) => {
    const k = index.get(n);
    if (k === undefined) throw badDataset(`${where(i)}: class "${n.slice(0, 40)}" is not in the given classes [${classes.slice(0, 10).join(', ')}${classes.length > 10 ? ', ...' : ''}]`);
    y[i] = k;
  });
  return { y, classes, order: given ? 'in the given order' : 'in sorted order' };
}

/**
 * Integer rows of K values that are all 0 except one 1 -> that 1's position. Any other row
 * (two 1s, a 2, all zeros) is refused naming the sample, since it is neither one-hot nor a label.
 */
export function oneHotToIndices(values: ArrayLike<number>, count: number, k: number): Int32Array {
  const y = new Int32Array(count);
  for (let s = 0; s < count; s++) {
    let hot = -1;
    for (let j = 0; j < k; j++) {
      const v = values[s * k + j]!;
      if (v === 1 && hot === -1) hot = j;
      else if (v !== 0) hot = -2;
    }
    if (hot < 0) throw badDataset(`y[${s}] is not one-hot (one 1, the rest 0); y of shape (N, ${k}) with integer values is read as one-hot class labels`);
    y[s] = hot;
  }
  return y;
}

/** How many samples have each label 0..max (labels < 0 left out: conform refuses them); null past 65535 classes. */
export function labelHistogram(y: Int32Array): number[] | null {
  let max = -1;
  for (const v of y) if (v > max) max = v;
  if (max > 65535) return null; // not a class count anyone charts
  const counts = new Array<number>(max + 1).fill(0);
  for (const v of y) if (v >= 0) counts[v]!++;
  return counts;
}
