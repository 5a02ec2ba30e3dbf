/**
 * Dense vector kernels over Float64Array (one entry per parameter): the only arithmetic the
 * Krylov methods need besides H v. Plain loops; V8 compiles them to tight machine code.
 */
import type { Rng } from '../../common/random.js';

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export const norm = (a: Float64Array): number => Math.sqrt(dot(a, a));

/** y += alpha * x, in place. */
export function axpy(y: Float64Array, alpha: number, x: Float64Array): void {
  for (let i = 0; i < y.length; i++) y[i] += alpha * x[i]!;
}

export function scale(a: Float64Array, alpha: number): void {
  for (let i = 0; i < a.length; i++) a[i] *= alpha;
}

/** Scales a to unit norm in place; returns the norm it had. */
export function normalize(a: Float64Array): number {
  const n = norm(a);
  if (n > 0) scale(a, 1 / n);
  return n;
}

/**
 * Removes from v its components along the orthonormal vectors of `basis`, in place.
 * Two passes of Gram-Schmidt ("twice is enough", Giraud et al. 2005): one pass leaves
 * O(eps * cond) of the basis behind, two leave O(eps), which full reorthogonalization needs.
 */
export function orthogonalize(v: Float64Array, basis: readonly Float64Array[]): void {
  for (let pass = 0; pass < 2; pass++) {
    for (const q of basis) axpy(v, -dot(q, v), q);
  }
}

/** Rademacher vector: entries +1/-1 with equal probability (Hutchinson's probes). */
export function rademacher(rng: Rng, n: number): Float64Array {
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.next() < 0.5 ? -1 : 1;
  return v;
}

export function gaussian(rng: Rng, n: number): Float64Array {
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal();
  return v;
}
