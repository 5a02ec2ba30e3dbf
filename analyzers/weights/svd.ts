/**
 * Singular values of a dense matrix: the full SVD with ml-matrix (Golub–Kahan, JAMA's algorithm,
 * no singular vectors), or for large matrices the top k by randomized subspace iteration (Halko,
 * Martinsson & Tropp, "Finding structure with randomness", SIAM Review 53 (2011), Algorithm 4.4
 * with q power iterations and p oversampling columns, then the exact SVD of the small B = QᵀA).
 * The randomized method's large products run on ONNX Runtime (native/runtime/matmul.ts); its
 * QR factorizations and the small SVD are ml-matrix's.
 */
import { Matrix, QrDecomposition, SVD } from 'ml-matrix';
import type { Rng } from '../../common/random.js';
import type { MatMul } from '../../native/runtime/matmul.js';

export type SvdMethod = 'full' | 'randomized';

export interface SingularValues {
  /** Descending. Full: min(rows, cols) values; randomized: the top k. */
  values: Float64Array;
  method: SvdMethod;
}

export interface RandomizedOptions {
  k: number;
  rng: Rng;
  /** Large products; required only when a matrix is large enough for the randomized method. */
  matmul?: MatMul;
  oversample?: number;
  powerIterations?: number;
}

/** Row-major data as an ml-matrix Matrix. */
export const toMatrix = (data: ArrayLike<number>, rows: number, cols: number): Matrix => Matrix.from1DArray(rows, cols, Array.from(data));

/** Every singular value of a row-major rows × cols matrix, descending. */
export function fullSingularValues(data: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const svd = new SVD(toMatrix(data, rows, cols), { computeLeftSingularVectors: false, computeRightSingularVectors: false, autoTranspose: true });
  return Float64Array.from(svd.diagonal).sort().reverse();
}

/** Orthonormal basis (thin Q) of the columns of a row-major rows × cols matrix. */
function orthonormalBasis(y: Float64Array, rows: number, cols: number): Float64Array {
  return Float64Array.from(new QrDecomposition(toMatrix(y, rows, cols)).orthogonalMatrix.to1DArray());
}

/** The top k singular values, descending, by randomized subspace iteration (HMT 2011, Alg. 4.4). */
export async function randomizedSingularValues(a: Float64Array, rows: number, cols: number, opts: RandomizedOptions): Promise<Float64Array> {
  if (!opts.matmul) throw new Error('randomized SVD needs a matrix product (openMatMul)');
  const mm = opts.matmul;
  const rank = Math.min(rows, cols);
  const l = Math.min(rank, opts.k + (opts.oversample ?? 10));
  const omega = Float64Array.from({ length: cols * l }, () => opts.rng.normal());
  let q = orthonormalBasis(await mm.multiply(a, rows, cols, omega, l), rows, l);
  for (let it = 0; it < (opts.powerIterations ?? 2); it++) {
    const z = orthonormalBasis(await mm.multiply(a, rows, cols, q, l, true), cols, l);
    q = orthonormalBasis(await mm.multiply(a, rows, cols, z, l), rows, l);
  }
  // B = Qᵀ A (l × cols): its singular values are A's top ones.
  const b = await mm.multiply(q, rows, l, a, cols, true);
  return fullSingularValues(b, l, cols).slice(0, Math.min(opts.k, rank));
}

/** Full SVD when min(rows, cols) <= maxFullDim, else the top k by randomized SVD. */
export async function singularValues(a: Float64Array, rows: number, cols: number, maxFullDim: number, randomized: RandomizedOptions): Promise<SingularValues> {
  if (Math.min(rows, cols) <= maxFullDim) return { values: fullSingularValues(a, rows, cols), method: 'full' };
  return { values: await randomizedSingularValues(a, rows, cols, randomized), method: 'randomized' };
}
