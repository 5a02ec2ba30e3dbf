/**
 * Index of the largest (smallest) of n values starting at offset: the class a row of scores
 * picks. Ties go to the first, as numpy's argmax.
 */
export function argmax(v: ArrayLike<number>, offset = 0, n = v.length - offset): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (v[offset + i]! > v[offset + best]!) best = i;
  return best;
}

export function argmin(v: ArrayLike<number>, offset = 0, n = v.length - offset): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (v[offset + i]! < v[offset + best]!) best = i;
  return best;
}
