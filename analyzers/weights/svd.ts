/**
 * Singular values of a dense matrix: the full SVD with ml-matrix (Golub–Kahan, JAMA's algorithm,
 * no singular vectors), or for large matrices the top k by randomized subspace iteration (Halko,
 * Martinsson & Tropp, "Finding structure with randomness", SIAM Review 53 (2011), Algorithm 4.4
 * with q power iterations and p oversampling columns, then the exact SVD of the small B = QᵀA).
 * The randomized method's large products run on ONNX Runtime (native/runtime/matmul.ts); its
 * small factorizations (Cholesky, inverse, symmetric eigenvalues) are ml-matrix's.
 */
import { CholeskyDecomposition, EigenvalueDecomposition, Matrix, QrDecomposition, SVD, inverse } from 'ml-matrix';
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

/**
 * Orthonormal basis (thin Q) of the columns of a row-major rows × l matrix Y by CholeskyQR2
 * (Fukaya, Nakatsukasa, Yanagisawa & Yamamoto 2014): R = chol(YᵀY), Q = Y R⁻¹, done twice, with
 * the tall products on ONNX Runtime; stable while cond(Y) < 1e8, which the subspace iteration
 * keeps (each Y = A·Q has cond at most σ_1/σ_l of A). Householder QR (ml-matrix) when the Gram
 * matrix is not numerically positive definite.
 */
async function orthonormalBasis(y: Float64Array, rows: number, l: number, mm: MatMul): Promise<Float64Array> {
  let q = y;
  for (let pass = 0; pass < 2; pass++) {
    const gram = toMatrix(await mm.multiply(q, rows, l, q, l, true), l, l);
    const chol = new CholeskyDecomposition(gram);
    if (!chol.isPositiveDefinite()) return Float64Array.from(new QrDecomposition(toMatrix(y, rows, l)).orthogonalMatrix.to1DArray());
    const rInverse = inverse(chol.lowerTriangularMatrix.transpose());
    q = await mm.multiply(q, rows, l, Float64Array.from(rInverse.to1DArray()), l);
  }
  return q;
}

/** The top k singular values, descending, by randomized subspace iteration (HMT 2011, Alg. 4.4). */
export async function randomizedSingularValues(a: Float64Array, rows: number, cols: number, opts: RandomizedOptions): Promise<Float64Array> {
  if (!opts.matmul) throw new Error('randomized SVD needs a matrix product (openMatMul)');
  const mm = opts.matmul;
  const rank = Math.min(rows, cols);
  const l = Math.min(rank, opts.k + (opts.oversample ?? 10));
  const omega = Float64Array.from({ length: cols * l }, () => opts.rng.normal());
  let q = await orthonormalBasis(await mm.multiply(a, rows, cols, omega, l), rows, l, mm);
  for (let it = 0; it < (opts.powerIterations ?? 2); it++) {
    const z = await orthonormalBasis(await mm.multiply(a, rows, cols, q, l, true), cols, l, mm);
    q = await orthonormalBasis(await mm.multiply(a, rows, cols, z, l), rows, l, mm);
  }
  // B = Qᵀ A (l × cols) has A's top singular values; they are the square roots of the
  // eigenvalues of the small l × l matrix B Bᵀ (relative error ~ ε σ_1²/σ_k², negligible for
  // the top k of a weight matrix).
  const bt = await mm.multiply(a, rows, cols, q, l, true); // Bᵀ = Aᵀ Q, cols × l
  const bbt = toMatrix(await mm.multiply(bt, cols, l, bt, l, true), l, l);
  const eig = new EigenvalueDecomposition(bbt, { assumeSymmetric: true }).realEigenvalues;
  const values = Float64Array.from(eig, (e) => Math.sqrt(Math.max(0, e))).sort().reverse();
  return values.slice(0, Math.min(opts.k, rank));
}

/** Full SVD when min(rows, cols) <= maxFullDim, else the top k by randomized SVD. */
export async function singularValues(a: Float64Array, rows: number, cols: number, maxFullDim: number, randomized: RandomizedOptions): Promise<SingularValues> {
  if (Math.min(rows, cols) <= maxFullDim) return { values: fullSingularValues(a, rows, cols), method: 'full' };
  return { values: await randomizedSingularValues(a, rows, cols, randomized), method: 'randomized' };
}
