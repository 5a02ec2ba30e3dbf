/**
 * The Lanczos process with full reorthogonalization (Golub & Van Loan, Matrix Computations,
 * 4th ed., Alg. 10.1.1 with complete reorthogonalization, sec. 10.3.1): after m steps,
 *   H Q_m = Q_m T_m + b_m q_{m+1} e_m^T,
 * T_m tridiagonal. Eigenpairs (theta, s) of T_m give Ritz pairs (theta, Q_m s) whose residual
 * norm is exactly b_m |s_m| in exact arithmetic; with full reorthogonalization Q_m stays
 * orthonormal to working precision, so that bound is trustworthy (no ghost eigenvalues).
 * Both ends of the spectrum converge at once, which is how `which: smallest` is served.
 *
 * When b_m vanishes the Krylov space is invariant: we continue from a fresh random vector
 * orthogonal to Q_m (T gets a zero off-diagonal), as PyHessian's density() does, so
 * eigenvalues outside the first invariant subspace (e.g. a repeated top eigenvalue whose
 * other copies the start vector missed) can still be found, up to dim steps.
 */
import type { Rng } from '../../common/random.js';
import type { LinearOperator } from './operator.js';
import { axpy, dot, gaussian, norm, normalize, orthogonalize } from './vec.js';

export interface LanczosRun {
  /** Orthonormal Lanczos vectors q_1..q_m. */
  basis: Float64Array[];
  alpha: number[];
  /** beta[j] couples q_j and q_{j+1}; length m - 1. */
  beta: number[];
  /** b_m: norm of the residual after the last step (0 when the space is exhausted). */
  last: number;
  /** The last step ended in an invariant subspace (b_m at rounding level). */
  breakdown: boolean;
  /** Index of the first vector of the current block (> 0 after a restart). */
  blockStart: number;
}

export interface LanczosOptions {
  steps: number;
  rng: Rng;
  /** Called after every step with the run so far; return true to stop. */
  stop?: (run: LanczosRun) => boolean;
}

export async function lanczos(op: LinearOperator, start: Float64Array, opts: LanczosOptions): Promise<LanczosRun> {
  const steps = Math.min(opts.steps, op.dim);
  const q0 = Float64Array.from(start);
  if (normalize(q0) === 0) throw new Error('lanczos: zero start vector');
  const run: LanczosRun = { basis: [q0], alpha: [], beta: [], last: 0, breakdown: false, blockStart: 0 };
  let scale = 0;
  for (let j = 0; j < steps; j++) {
    const q = run.basis[j]!;
    const w = await op.apply(q);
    if (j > 0) axpy(w, -run.beta[j - 1]!, run.basis[j - 1]!);
    const a = dot(q, w);
    axpy(w, -a, q);
    orthogonalize(w, run.basis);
    run.alpha.push(a);
    const b = norm(w);
    run.last = b;
    scale = Math.max(scale, Math.abs(a) + b + (j > 0 ? run.beta[j - 1]! : 0));
    // Invariant subspace: b at rounding level relative to ||T||.
    run.breakdown = b <= 1e-12 * scale;
    if (opts.stop?.(run) || j + 1 === steps) break;
    if (run.breakdown) {
      const r = gaussian(opts.rng, op.dim);
      orthogonalize(r, run.basis);
      if (normalize(r) === 0) break;
      run.last = 0;
      run.beta.push(0);
      run.basis.push(r);
      run.blockStart = run.basis.length - 1;
    } else {
      for (let i = 0; i < w.length; i++) w[i] /= b;
      run.beta.push(b);
      run.basis.push(w);
    }
  }
  // basis holds m vectors (the step that stopped did not append q_{m+1}).
  run.basis.length = run.alpha.length;
  return run;
}

/** Ritz vector Q s (unit norm up to rounding). */
export function ritzVector(basis: readonly Float64Array[], s: readonly number[]): Float64Array {
  const y = new Float64Array(basis[0]!.length);
  for (let j = 0; j < s.length; j++) axpy(y, s[j]!, basis[j]!);
  normalize(y);
  return y;
}
