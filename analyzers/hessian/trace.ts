/**
 * Stochastic trace estimators.
 *
 * Hutchinson (1990): tr(H) = E[z^T H z] for Rademacher z. We stop once the standard error
 * of the mean, s / sqrt(p) with s the sample standard deviation of the p probes, is at most
 * traceTol * |estimate| (after at least MIN_PROBES probes, so s means something), or at
 * maxProbes. PyHessian stops when the running mean changes by less than tol, which says
 * nothing about the error; we report the standard error itself.
 *
 * Hutch++ (Meyer, Musco, Musco & Woodruff, SOSA 2021, Alg. 1): Q = orth(H S) for a
 * Rademacher sketch S (n x k); tr(H) = tr(Q^T H Q) + tr((I - QQ^T) H (I - QQ^T)). The first
 * term is computed exactly (k products), the second by Hutchinson on projected probes,
 * stopped as above. When H has a few dominant eigenvalues (the usual Hessian shape) Q
 * captures them and the variance left is far smaller. Its standard error is that of the
 * second term, conditional on the sketch (the first term has no sampling error given Q).
 * When the eigenvalue solve ran Lanczos, its orthonormal basis joins Q at no cost (its
 * q^T H q are the tridiagonal's alphas), in the spirit of Krylov-aware trace estimation (Chen &
 * Hallman, SIMAX 2023): the dominant eigenvalues it converged to leave the residual's variance.
 */
import type { Rng } from '../../common/random.js';
import { applyAll, type LinearOperator } from './operator.js';
import { dot, norm, normalize, orthogonalize, rademacher } from './vec.js';

export interface TraceEstimate {
  estimate: number;
  stdErr: number;
  /** Products H v spent (probes, plus 2 x sketch for Hutch++). */
  probes: number;
  /** Hutch++ only: columns kept in Q, the known basis included (0 for Hutchinson). */
  sketch: number;
  /** True when the estimate is exact (Q spans the whole space). */
  exact: boolean;
}

export interface TraceOptions {
  tol: number;
  maxProbes: number;
  rng: Rng;
  /** Hutch++ sketch size k. */
  sketchSize?: number;
  /**
   * Hutch++ only: an orthonormal basis whose products are already known (the Lanczos vectors of
   * the eigenvalue solve, with diag[i] = q_i^T H q_i, the alphas of its tridiagonal): it joins
   * Q for free, so the top of the spectrum the solve found leaves the residual.
   */
  known?: { basis: readonly Float64Array[]; diag: readonly number[] };
}

export const MIN_PROBES = 10;

/** Running mean and variance (Welford), so probes need not be stored. */
class Moments {
  n = 0;
  mean = 0;
  private m2 = 0;
  add(x: number): void {
    this.n++;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
  }
  /** Standard error of the mean: sample std / sqrt(n). */
  stdErr(): number {
    return this.n > 1 ? Math.sqrt(this.m2 / (this.n - 1) / this.n) : Infinity;
  }
}

async function hutchinsonLoop(
  op: LinearOperator,
  opts: TraceOptions,
  budget: number,
  offset: number,
  project: (z: Float64Array) => void,
): Promise<Moments> {
  const m = new Moments();
  const minProbes = Math.min(MIN_PROBES, budget);
  const block = Math.max(1, op.blockSize ?? 1);
  for (;;) {
    // A block of probes per run; the stopping rule is still checked after each probe, in order,
    // and products past the stopping point are dropped, so the estimate and its probe count are
    // those of one-at-a-time Hutchinson with the same random stream (they cost < one block).
    const zs = Array.from({ length: Math.min(block, budget - m.n) }, () => {
      const z = rademacher(opts.rng, op.dim);
      project(z);
      return z;
    });
    const hs = await applyAll(op, zs);
    for (let j = 0; j < zs.length; j++) {
      m.add(dot(zs[j]!, hs[j]!));
      if (m.n >= budget || (m.n >= minProbes && m.stdErr() <= opts.tol * Math.abs(offset + m.mean))) return m;
    }
  }
}

export async function hutchinson(op: LinearOperator, opts: TraceOptions): Promise<TraceEstimate> {
  const m = await hutchinsonLoop(op, opts, opts.maxProbes, 0, () => {});
  return { estimate: m.mean, stdErr: m.n > 1 ? m.stdErr() : NaN, probes: m.n, sketch: 0, exact: false };
}

export async function hutchpp(op: LinearOperator, opts: TraceOptions): Promise<TraceEstimate> {
  // Keep at least a third of the budget for the residual probes (Hutch++'s own split is 1/3 each).
  const q: Float64Array[] = [...(opts.known?.basis ?? [])];
  // Nothing to sketch once the known basis spans the space.
  const k = q.length >= op.dim ? 0 : Math.min(opts.sketchSize ?? 20, op.dim, Math.floor(opts.maxProbes / 3));
  let exact = (opts.known?.diag ?? []).reduce((a, b) => a + b, 0);
  let used = 0;
  // The sketch H S and the exact part Q^T H Q are blocks of independent products.
  const sketch = await applyAll(op, Array.from({ length: k }, () => rademacher(opts.rng, op.dim)));
  for (const y of sketch) {
    used++;
    const before = norm(y);
    orthogonalize(y, q);
    // A column already in span(Q) (H of low rank) adds nothing but rounding: drop it.
    if (normalize(y) > 1e-10 * before) q.push(y);
  }
  const fresh = q.slice(opts.known?.basis.length ?? 0);
  const hq = await applyAll(op, fresh);
  fresh.forEach((v, i) => {
    exact += dot(v, hq[i]!);
    used++;
  });
  if (q.length === op.dim) return { estimate: exact, stdErr: 0, probes: used, sketch: q.length, exact: true };
  const m = await hutchinsonLoop(op, opts, Math.max(2, opts.maxProbes - used), exact, (z) => orthogonalize(z, q));
  return { estimate: exact + m.mean, stdErr: m.n > 1 ? m.stdErr() : NaN, probes: used + m.n, sketch: q.length, exact: false };
}
