/**
 * Extreme eigenvalues of the Hessian: Lanczos (default) or PyHessian's power iteration with
 * deflation. Every returned pair is checked with one extra product: value = y^T H y (the
 * Rayleigh quotient of the returned unit vector) and residual = ||H y - value y||, so the
 * residual reported is measured, not a bound.
 */
import type { Rng } from '../../common/random.js';
import { applyAll, type LinearOperator } from './operator.js';
import { lanczos, ritzVector } from './lanczos.js';
import { tridiagonalEigen } from './tridiag.js';
import { axpy, dot, gaussian, norm, normalize, orthogonalize } from './vec.js';

export interface Eigenpair {
  value: number;
  residual: number;
  vector: Float64Array;
}

export interface EigenSolve {
  /** The requested end, from the extreme inward (largest first, or smallest first). */
  pairs: Eigenpair[];
  /** The largest eigenvalue (sharpness), also when the smallest were asked for. */
  top: Eigenpair;
  /** Lanczos steps, or power iterations summed over the eigenvalues. */
  iterations: number;
  converged: boolean;
  /** Lanczos only: the orthonormal basis and q_i^T H q_i (the tridiagonal's diagonal). */
  krylov?: { basis: Float64Array[]; diag: number[] };
}

export interface EigenOptions {
  k: number;
  which: 'largest' | 'smallest';
  tol: number;
  maxIter: number;
  rng: Rng;
  /**
   * Lanczos only: steps taken even after convergence (capped by maxIter), when the basis serves
   * the trace too (a Lanczos step deflates more of the spectrum than a random sketch column).
   */
  minSteps?: number;
}

/** value = y^T H y and residual ||H y - value y|| with one product. */
export async function checkPair(op: LinearOperator, y: Float64Array): Promise<Eigenpair> {
  return (await checkPairs(op, [y]))[0]!;
}

/** checkPair for several vectors, their products in blocks (applyAll). */
async function checkPairs(op: LinearOperator, ys: Float64Array[]): Promise<Eigenpair[]> {
  const hs = await applyAll(op, ys);
  return ys.map((y, i) => {
    const hy = hs[i]!;
    const value = dot(y, hy);
    axpy(hy, -value, y);
    return { value, residual: norm(hy), vector: y };
  });
}

/**
 * Lanczos: stop when every wanted Ritz pair (and the top one) has residual bound
 * b_m |s_m,i| <= tol * max|theta| (relative to the spectral scale, so tiny eigenvalues near
 * zero do not demand absolute accuracy they cannot have), or after maxIter steps.
 */
export async function lanczosEigen(op: LinearOperator, opts: EigenOptions): Promise<EigenSolve> {
  const k = Math.min(opts.k, op.dim);
  let converged = false;
  const wanted = (m: number): number[] => {
    const idx = opts.which === 'largest' ? range(m - 1, m - 1 - k) : range(0, k);
    if (!idx.includes(m - 1)) idx.push(m - 1);
    return idx;
  };
  const run = await lanczos(op, gaussian(opts.rng, op.dim), {
    steps: Math.max(opts.maxIter, k),
    rng: opts.rng,
    stop: (r) => {
      const m = r.alpha.length;
      if (m < Math.max(k, opts.minSteps ?? 0)) return false;
      if (m === op.dim) return (converged = true);
      // The dense EVD of T costs O(m^3): check every step early on, then every ~m/50 steps.
      if (m > 150 && !r.breakdown && m % Math.ceil(m / 50) !== 0) return false;
      const t = tridiagonalEigen(r.alpha, r.beta);
      const scale = Math.max(Math.abs(t.values[0]!), Math.abs(t.values[m - 1]!));
      converged = wanted(m).every((i) => r.last * Math.abs(t.vectors[i]![m - 1]!) <= opts.tol * scale);
      if (converged && r.breakdown) {
        // The Krylov space is invariant: its Ritz values are exact, but eigenvalues it cannot
        // see (other copies of a repeated one) may lie outside it. Keep restarting while the
        // last block changed the wanted values; stop once a fresh block adds nothing.
        const before = r.blockStart === 0 ? [] : wantedValues(tridiagonalEigen(r.alpha.slice(0, r.blockStart), r.beta.slice(0, r.blockStart - 1)).values, k, opts.which);
        const now = wantedValues(t.values, k, opts.which);
        converged = before.length === now.length && before.every((v, i) => Math.abs(v - now[i]!) <= opts.tol * scale);
      }
      return converged;
    },
  });
  const m = run.alpha.length;
  const t = tridiagonalEigen(run.alpha, run.beta);
  const requested = opts.which === 'largest' ? range(m - 1, m - 1 - k) : range(0, k);
  const at = requested.indexOf(m - 1);
  const checked = await checkPairs(op, [...requested, ...(at >= 0 ? [] : [m - 1])].map((i) => ritzVector(run.basis, t.vectors[i]!)));
  const pairs = checked.slice(0, requested.length);
  const top = at >= 0 ? pairs[at]! : checked[requested.length]!;
  return { pairs, top, iterations: m, converged, krylov: { basis: run.basis, diag: run.alpha } };
}

/**
 * PyHessian's eigenvalues(): for each eigenvalue, a random Gaussian start, then repeatedly
 * orthogonalize against the eigenvectors found so far, v <- H v / ||H v||, until the Rayleigh
 * quotient changes by less than tol relative (|l - l'| / (|l| + 1e-6) < tol), at most maxIter
 * products. Power iteration converges to the eigenvalue of largest magnitude, as PyHessian's;
 * for `smallest` it runs on H - s I with s = |largest-magnitude eigenvalue|, whose
 * largest-magnitude eigenvalue is lambda_min - s.
 */
export async function powerEigen(op: LinearOperator, opts: EigenOptions): Promise<EigenSolve> {
  const k = Math.min(opts.k, op.dim);
  let iterations = 0;
  let converged = true;
  const iterate = async (shift: number, count: number): Promise<Float64Array[]> => {
    const found: Float64Array[] = [];
    for (let e = 0; e < count; e++) {
      let v = gaussian(opts.rng, op.dim);
      normalize(v);
      let value: number | null = null;
      let done = false;
      for (let it = 0; it < opts.maxIter; it++) {
        orthogonalize(v, found);
        normalize(v);
        const hv = await op.apply(v);
        if (shift !== 0) axpy(hv, -shift, v);
        iterations++;
        const next = dot(v, hv);
        v = hv;
        normalize(v);
        if (value !== null && Math.abs(value - next) / (Math.abs(value) + 1e-6) < opts.tol) {
          done = true;
          break;
        }
        value = next;
      }
      converged &&= done;
      orthogonalize(v, found);
      normalize(v);
      found.push(v);
    }
    return found;
  };
  if (opts.which === 'largest') {
    const pairs = await checkPairs(op, await iterate(0, k));
    return { pairs, top: pairs[0]!, iterations, converged };
  }
  const [dominant] = await iterate(0, 1);
  const top = await checkPair(op, dominant!);
  const pairs = await checkPairs(op, await iterate(Math.abs(top.value), k));
  return { pairs, top, iterations, converged };
}

/** The k wanted values of an ascending list: the largest (descending) or the smallest. */
function wantedValues(ascending: number[], k: number, which: 'largest' | 'smallest'): number[] {
  return which === 'largest' ? ascending.slice(-k).reverse() : ascending.slice(0, k);
}

/** Integers from `from` toward `to` (exclusive), either direction. */
function range(from: number, to: number): number[] {
  const out: number[] = [];
  if (from <= to) for (let i = from; i < to; i++) out.push(i);
  else for (let i = from; i > to; i--) out.push(i);
  return out;
}
