/**
 * Singular values of a dense matrix with ml-matrix: the full SVD (Golub–Kahan, JAMA's algorithm,
 * no singular vectors), or for large matrices the top k by randomized subspace iteration (Halko,
 * Martinsson & Tropp, "Finding structure with randomness", SIAM Review 53 (2011), Algorithm 4.4
 * with q power iterations and p oversampling columns, then the exact SVD of the small B = QᵀA).
 */
import { Matrix, QrDecomposition, SVD } from 'ml-matrix';
import type { Rng } from '../../common/random.js';

export type SvdMethod = 'full' | 'randomized';

export interface SingularValues {
  /** Descending. Full: min(rows, cols) values; randomized: the top k. */
  values: Float64Array;
  method: SvdMethod;
}

export interface RandomizedOptions {
  k: number;
  rng: Rng;
  oversample?: number;
  powerIterations?: number;
}

/** Row-major data as an ml-matrix Matrix. */
export const toMatrix = (data: ArrayLike<number>, rows: number, cols: number): Matrix => Matrix.from1DArray(rows, cols, Array.from(data));

/** Every singular value, descending. */
export function fullSingularValues(a: Matrix): Float64Array {
  const svd = new SVD(a, { computeLeftSingularVectors: false, computeRightSingularVectors: false, autoTranspose: true });
  return Float64Array.from(svd.diagonal).sort().reverse();
}

/** The top k singular values, descending, by randomized subspace iteration (HMT 2011, Alg. 4.4). */
export function randomizedSingularValues(a: Matrix, opts: RandomizedOptions): Float64Array {
  const rank = Math.min(a.rows, a.columns);
  const l = Math.min(rank, opts.k + (opts.oversample ?? 10));
  const omega = new Matrix(a.columns, l);
  for (let i = 0; i < a.columns; i++) for (let j = 0; j < l; j++) omega.set(i, j, opts.rng.normal());
  const orth = (y: Matrix) => new QrDecomposition(y).orthogonalMatrix;
  let q = orth(a.mmul(omega));
  const at = a.transpose();
  for (let it = 0; it < (opts.powerIterations ?? 2); it++) q = orth(a.mmul(orth(at.mmul(q))));
  return fullSingularValues(q.transpose().mmul(a)).slice(0, Math.min(opts.k, rank));
}

/** Full SVD when min(rows, cols) <= maxFullDim, else the top k by randomized SVD. */
export function singularValues(a: Matrix, maxFullDim: number, randomized: RandomizedOptions): SingularValues {
  if (Math.min(a.rows, a.columns) <= maxFullDim) return { values: fullSingularValues(a), method: 'full' };
  return { values: randomizedSingularValues(a, randomized), method: 'randomized' };
}
