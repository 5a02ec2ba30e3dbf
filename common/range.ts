/** [min, max] of the values; null when there are none. */
export function valueRange(x: ArrayLike<number>): [number, number] | null {
  if (x.length === 0) return null;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}
