/**
 * Eigen-decomposition of the small symmetric tridiagonal matrix T that Lanczos builds
 * (alpha on the diagonal, beta beside it), with ml-matrix's symmetric EVD (Householder
 * tridiagonalization is a no-op here, then implicit QL): O(m^3) for m <= a few hundred,
 * negligible next to one Hessian-vector product.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';

export interface TridiagonalEigen {
  /** Ascending. */
  values: number[];
  /** vectors[i] = the eigenvector of values[i], length m. */
  vectors: number[][];
}

export function tridiagonalEigen(alpha: readonly number[], beta: readonly number[]): TridiagonalEigen {
  const m = alpha.length;
  if (m === 0) return { values: [], vectors: [] };
  if (m === 1) return { values: [alpha[0]!], vectors: [[1]] };
  const t = Matrix.zeros(m, m);
  for (let i = 0; i < m; i++) {
    t.set(i, i, alpha[i]!);
    if (i + 1 < m) {
      t.set(i, i + 1, beta[i]!);
      t.set(i + 1, i, beta[i]!);
    }
  }
  return symmetricEigen(t);
}

/** Eigenpairs of a dense symmetric matrix, eigenvalues ascending. */
export function symmetricEigen(a: Matrix): TridiagonalEigen {
  const evd = new EigenvalueDecomposition(a, { assumeSymmetric: true });
  const raw = evd.realEigenvalues;
  const vecs = evd.eigenvectorMatrix;
  const order = raw.map((_, i) => i).sort((i, j) => raw[i]! - raw[j]!);
  return { values: order.map((i) => raw[i]!), vectors: order.map((i) => vecs.getColumn(i)) };
}
