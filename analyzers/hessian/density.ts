/**
 * Spectral density by stochastic Lanczos quadrature (Lin, Saad & Yang, SIAM Review 2016;
 * Ghorbani, Krishnan & Xiao, ICML 2019; PyHessian's density()): per run, m Lanczos steps
 * from a normalized Rademacher vector; the nodes are the eigenvalues theta_i of T_m and the
 * weights tau_i the squared first components of its eigenvectors (they sum to 1). The
 * density is the run-averaged sum of Gaussians at the nodes, as PyHessian's
 * density_generate: grid of `bins` points from (mean over runs of min node) - 0.01 to
 * (mean of max node) + 0.01 (an absolute margin), Gaussian variance
 * sigmaSquared * max(1, width), then normalized so that sum(density) * dx = 1.
 */
import type { Rng } from '../../common/random.js';
import type { LinearOperator } from './operator.js';
import { lanczos } from './lanczos.js';
import { tridiagonalEigen } from './tridiag.js';
import { normalize, rademacher } from './vec.js';

export interface SlqRun {
  nodes: number[];
  weights: number[];
}

export interface DensityOptions {
  runs: number;
  steps: number;
  rng: Rng;
}

export async function slq(op: LinearOperator, opts: DensityOptions): Promise<SlqRun[]> {
  const runs: SlqRun[] = [];
  for (let r = 0; r < opts.runs; r++) {
    const v = rademacher(opts.rng, op.dim);
    normalize(v);
    const run = await lanczos(op, v, { steps: opts.steps, rng: opts.rng });
    const t = tridiagonalEigen(run.alpha, run.beta);
    runs.push({ nodes: t.values, weights: t.vectors.map((s) => s[0]! * s[0]!) });
  }
  return runs;
}

export interface BroadenedDensity {
  grid: number[];
  density: number[];
  /** The Gaussian variance used. */
  variance: number;
}

export function broaden(runs: readonly SlqRun[], bins: number, sigmaSquared: number, margin = 0.01): BroadenedDensity {
  const mean = (f: (r: SlqRun) => number) => runs.reduce((s, r) => s + f(r), 0) / runs.length;
  const hi = mean((r) => Math.max(...r.nodes)) + margin;
  const lo = mean((r) => Math.min(...r.nodes)) - margin;
  const variance = sigmaSquared * Math.max(1, hi - lo);
  const dx = bins > 1 ? (hi - lo) / (bins - 1) : 0;
  const grid = Array.from({ length: bins }, (_, j) => lo + j * dx);
  const density = new Float64Array(bins);
  const c = 1 / Math.sqrt(2 * Math.PI * variance);
  // exp underflows to 0 beyond ~38 standard deviations; skip the grid outside that window.
  const reach = Math.sqrt(2 * variance * 745);
  for (const run of runs) {
    run.nodes.forEach((x0, i) => {
      const w = run.weights[i]! * c;
      const from = dx > 0 ? Math.max(0, Math.floor((x0 - reach - lo) / dx)) : 0;
      const to = dx > 0 ? Math.min(bins - 1, Math.ceil((x0 + reach - lo) / dx)) : bins - 1;
      for (let j = from; j <= to; j++) density[j] += w * Math.exp(-((grid[j]! - x0) ** 2) / (2 * variance));
    });
  }
  let total = 0;
  for (let j = 0; j < bins; j++) total += density[j]!;
  const norm = total * (dx > 0 ? dx : 1);
  return { grid, density: Array.from(density, (d) => (norm > 0 ? d / norm : 0)), variance };
}
