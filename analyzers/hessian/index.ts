/**
 * `hessian`: curvature of the dataset loss with respect to the parameters, from exact
 * Hessian-vector products (forward-over-reverse ONNX graphs) summed over batches:
 * top (or bottom) eigenvalues with measured residuals, the trace with its standard error,
 * the spectral density by stochastic Lanczos quadrature, per-tensor curvature, sharpness.
 * PyHessian's three methods (power iteration with deflation, Hutchinson, SLQ) are here with
 * its defaults where they exist; Lanczos and Hutch++ are the more accurate defaults.
 */
import { performance } from 'node:perf_hooks';
import type { Analyzer } from '../types.js';
import { LOSS_MODEL_PARAMS, lossModelOptions, type LossModelParams } from '../common/loss-params.js';
import { LossRunner, probeBlockSize, type Batch } from '../../native/autodiff/runner.js';
import { datasetBatches, sampleIndices, setupDifferentiable } from '../common/differentiable.js';
import { AppError, badParams } from '../../common/errors.js';
import { Rng } from '../../common/random.js';
import { DatasetHessian } from './operator.js';
import { lanczosEigen, powerEigen, type EigenSolve } from './eigen.js';
import { hutchinson, hutchpp } from './trace.js';
import { broaden, slq } from './density.js';
import { layerCurvature, type LayerCurvature } from './perlayer.js';
import { densitySvg } from '../common/plot.js';
import { ProductProgress } from './progress.js';
import { norm } from './vec.js';
import { writeNpz } from '../../datasets/npz.js';
import type { HessianResult } from './result.js';

export type { HessianResult } from './result.js';

export interface HessianParams extends LossModelParams {
  batchSize: number;
  maxSamples?: number;
  compute: string[];
  topK: number;
  method: string;
  which: string;
  tol?: number;
  maxIter: number;
  traceMethod: string;
  traceTol: number;
  maxProbes: number;
  sketchSize: number;
  probeBlock: number;
  slqRuns: number;
  slqSteps: number;
  densityBins: number;
  densitySigmaSquared: number;
  exactBlockSize: number;
  learningRate?: number;
  seed: number;
}

const PARTS = ['top', 'trace', 'density', 'perLayer'] as const;
type Part = (typeof PARTS)[number];

/** Lanczos keeps every basis vector (full reorthogonalization): cap steps x dim x 8 bytes. */
const MAX_BASIS_BYTES = 2 * 1024 ** 3;
/** Memory the Lanczos steps taken for the trace alone (EigenOptions.minSteps) may hold. */
const TRACE_BASIS_BYTES = 256 * 1024 ** 2;
/** eigenvectors.npz is written only below this many float32 entries (topK x parameters). */
const MAX_EIGENVECTOR_ENTRIES = 64 * 1024 ** 2;
/** Batches are built once and kept when the inputs they hold fit in this much memory. */
const MAX_CACHED_BATCH_BYTES = 256 * 1024 ** 2;

/** Independent random streams per part (and per tensor), so one part's result does not depend on which others ran. */
const partRng = (seed: number, stream: number) => new Rng((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca6b)) >>> 0);

export const hessianAnalyzer: Analyzer<HessianParams, HessianResult> = {
  name: 'hessian',
  version: 1,
  description:
    'Hessian of the dataset loss: top/bottom eigenvalues (Lanczos or power iteration) with residuals, trace (Hutchinson, Hutch++) with standard error, SLQ spectral density, per-tensor curvature, sharpness.',
  needsDataset: true,
  params: [
    { name: 'batchSize', type: 'int', default: 64, min: 1, max: 4096, description: 'Samples per runtime call.' },
    { name: 'maxSamples', type: 'int', min: 1, max: 10_000_000, description: 'Use only the first N samples (default: all).' },
    ...LOSS_MODEL_PARAMS,
    { name: 'compute', type: 'stringList', default: ['top', 'trace'], description: `Parts to compute, any of ${PARTS.join(', ')} (density and perLayer cost many products).` },
    { name: 'topK', type: 'int', default: 5, min: 1, max: 200, description: 'How many extreme eigenvalues.' },
    { name: 'method', type: 'enum', choices: ['lanczos', 'power'], default: 'lanczos', description: 'lanczos (full reorthogonalization) or power iteration with deflation (PyHessian).' },
    { name: 'which', type: 'enum', choices: ['largest', 'smallest'], default: 'largest', description: 'The largest eigenvalues, or the smallest (most negative).' },
    { name: 'tol', type: 'float', min: 0, max: 1, description: 'Eigenvalue tolerance. lanczos: Ritz residual bound relative to the spectral radius (default 1e-6); power: relative change between iterations (default 1e-3, PyHessian).' },
    { name: 'maxIter', type: 'int', default: 100, min: 1, max: 10_000, description: 'lanczos: maximum Krylov dimension (at most 1000); power: maximum iterations per eigenvalue (PyHessian: 100).' },
    { name: 'traceMethod', type: 'enum', choices: ['hutchinson', 'hutchpp'], default: 'hutchpp', description: 'Hutchinson (Rademacher probes) or Hutch++ (Meyer et al. 2021).' },
    { name: 'traceTol', type: 'float', default: 0.01, min: 0, max: 1, description: 'Stop the trace estimate when its standard error is at most this fraction of it.' },
    { name: 'maxProbes', type: 'int', default: 500, min: 2, max: 100_000, description: 'Most Hessian-vector products for one trace estimate.' },
    { name: 'sketchSize', type: 'int', default: 20, min: 1, max: 10_000, description: 'Hutch++ sketch size (at most a third of maxProbes is used).' },
    { name: 'probeBlock', type: 'int', default: 8, min: 1, max: 64, description: 'Independent products (trace probes, the Hutch++ sketch, exact per-tensor blocks) per runtime run, sharing its forward and backward pass; cut to fit 256 MiB of tangents; 1 = one at a time. Results do not depend on it.' },
    { name: 'slqRuns', type: 'int', default: 1, min: 1, max: 1000, description: 'SLQ runs (PyHessian n_v: 1).' },
    { name: 'slqSteps', type: 'int', default: 100, min: 2, max: 1000, description: 'Lanczos steps per SLQ run (PyHessian iter: 100).' },
    { name: 'densityBins', type: 'int', default: 10_000, min: 10, max: 1_000_000, description: 'Grid points of the broadened density (PyHessian: 10000).' },
    { name: 'densitySigmaSquared', type: 'float', default: 1e-5, min: 0, description: 'Gaussian variance per unit of spectral width (PyHessian: 1e-5).' },
    { name: 'exactBlockSize', type: 'int', default: 64, min: 0, max: 4096, description: 'perLayer: tensors with at most this many entries get their block assembled and decomposed exactly.' },
    { name: 'learningRate', type: 'float', min: 0, description: 'With it, sharpness is compared with the edge of stability 2/lr.' },
    { name: 'seed', type: 'int', default: 0, min: 0, max: 2 ** 31 - 1, description: 'Seed of every random vector.' },
  ],
  async run(ctx) {
    const started = performance.now();
    const { dataset, params } = ctx;
    if (!dataset) throw new AppError('BAD_PARAMS', 'hessian needs a dataset');
    const parts = new Set<Part>();
    for (const c of params.compute) {
      if (!(PARTS as readonly string[]).includes(c)) throw badParams(`param compute: unknown part ${JSON.stringify(c)}; choose from ${PARTS.join(', ')}`, { param: 'compute' });
      parts.add(c as Part);
    }
    if (parts.size === 0) throw badParams(`param compute is empty; choose from ${PARTS.join(', ')}`, { param: 'compute' });

    const setup = await setupDifferentiable(ctx.model.ir, dataset, {
      batchSize: params.batchSize,
      ...lossModelOptions(params),
    });
    // Only the trace and the exact per-tensor blocks take independent products in blocks; the
    // block graph costs a session of its own, so it is built only for them.
    const blocked = parts.has('trace') || parts.has('perLayer');
    const hvpBlock = blocked ? probeBlockSize(setup.prepared, setup.batchSize, params.probeBlock) : 1;
    const runner = await LossRunner.create(setup.prepared, { gradient: true, hvp: false, hvpProducts: true, hvpBlock, fixedParameters: true });
    try {
      const notes = [...setup.notes];
      const dim = runner.dim;
      const batchOpts = params.maxSamples !== undefined ? { maxSamples: params.maxSamples } : {};
      const samples = sampleIndices(dataset, batchOpts).length;
      const perSample = dataset.x.length / Math.max(1, dataset.count);
      const batches = cachedBatches(() => datasetBatches(dataset, setup, batchOpts), samples * perSample * 8 <= MAX_CACHED_BATCH_BYTES);

      const maxSteps = Math.max(2, Math.floor(MAX_BASIS_BYTES / (8 * dim)));
      const cap = (steps: number, what: string) => {
        if (steps <= maxSteps) return steps;
        notes.push(`${what} capped at ${maxSteps} Lanczos steps: ${steps} basis vectors of ${dim} parameters would exceed ${MAX_BASIS_BYTES / 1024 ** 3} GiB`);
        return maxSteps;
      };
      const method = params.method === 'power' ? 'power' : 'lanczos';
      const which = params.which === 'smallest' ? 'smallest' : 'largest';
      const tol = params.tol ?? (method === 'power' ? 1e-3 : 1e-6);
      // Beyond ~1000 steps the dense tridiagonal EVD (O(m^3) per convergence check) dominates.
      const maxIter = method === 'lanczos' ? cap(Math.min(params.maxIter, 1000), 'eigenvalues') : params.maxIter;
      const slqSteps = cap(Math.min(params.slqSteps, dim), 'density');
      const traceMethod = params.traceMethod === 'hutchinson' ? 'hutchinson' : 'hutchpp';
      const k = Math.min(params.topK, dim);

      const tensors = setup.prepared.params.map((name, i) => {
        const t = setup.prepared.values.get(name)!;
        return { name, shape: t.dims, offset: runner.offsets[i]!, size: t.data.length };
      });
      const caps: Record<Part, number> = {
        top: method === 'lanczos' ? Math.max(maxIter, k) + k + 1 : (which === 'smallest' ? k + 1 : k) * (params.maxIter + 1) + 1,
        trace: params.maxProbes,
        density: params.slqRuns * slqSteps,
        perLayer: tensors.reduce((s, t) => s + (t.size <= params.exactBlockSize ? t.size : Math.min(maxIter, t.size) + 1 + params.maxProbes), 0),
      };
      const progress = new ProductProgress(
        PARTS.filter((p) => parts.has(p)).reduce((s, p) => s + caps[p], 0),
        (f, m) => ctx.progress(f, m),
      );
      const op = new DatasetHessian(runner, batches, ctx.signal, (n) => progress.tick(n));
      const part = async <T>(p: Part, label: string, fn: () => Promise<T>): Promise<T> => {
        progress.begin(label, caps[p], op.hvps);
        const out = await fn();
        progress.end();
        return out;
      };
      const result: HessianResult = {
        parameterCount: dim,
        samples,
        batchSize: setup.batchSize,
        batched: setup.batched,
        lossKind: setup.prepared.lossKind,
        precision: setup.prepared.dtype,
        loss: null,
        gradNorm: null,
        seed: params.seed,
        hvpCount: 0,
        durationMs: 0,
        topEigenvalues: null,
        eigenSolver: null,
        sharpness: null,
        trace: null,
        density: null,
        perLayer: null,
        perLayerRanking: null,
        tensors: tensors.map(({ name, shape, size }) => ({ name, shape, size })),
        notes,
      };

      let krylov: EigenSolve['krylov'];
      if (parts.has('top')) {
        const before = op.hvps;
        // With a Hutch++ trace to follow, the Lanczos basis joins its Q (trace.ts): at least 3 x
        // sketchSize steps, while the basis stays under TRACE_BASIS_BYTES (small CNN bench, 5,450
        // parameters, trace to 1%: 454 products at the 25 steps the top-5 need, 161 at 60).
        const feedsTrace = method === 'lanczos' && traceMethod === 'hutchpp' && parts.has('trace');
        const minSteps = feedsTrace ? Math.min(3 * params.sketchSize, Math.floor(TRACE_BASIS_BYTES / (8 * dim))) : 0;
        const opts = { k, which, tol, maxIter, rng: partRng(params.seed, 0), minSteps } as const;
        const solve = await part('top', `${which} eigenvalues (${method})`, () => (method === 'lanczos' ? lanczosEigen(op, opts) : powerEigen(op, opts)));
        krylov = solve.krylov;
        result.topEigenvalues = solve.pairs.map((p) => ({ value: p.value, residual: p.residual }));
        result.eigenSolver = { method, which, tol, maxIter, iterations: solve.iterations, hvps: op.hvps - before, converged: solve.converged };
        const lr = params.learningRate;
        const edge = lr !== undefined && lr > 0 ? 2 / lr : null;
        result.sharpness = {
          value: solve.top.value,
          residual: solve.top.residual,
          learningRate: lr ?? null,
          edgeOfStability: edge,
          ratio: edge !== null ? solve.top.value / edge : null,
        };
        if (ctx.artifacts) {
          if (solve.pairs.length * dim <= MAX_EIGENVECTOR_ENTRIES) {
            const vectors = new Float32Array(solve.pairs.length * dim);
            solve.pairs.forEach((p, i) => vectors.set(p.vector, i * dim));
            const arrays = {
              values: { dtype: 'f8' as const, shape: [solve.pairs.length], data: Float64Array.from(solve.pairs, (p) => p.value) },
              vectors: { dtype: 'f4' as const, shape: [solve.pairs.length, dim], data: vectors },
            };
            await ctx.artifacts.write('eigenvectors.npz', writeNpz(arrays), 'application/octet-stream');
          } else {
            notes.push(`eigenvectors.npz not written: ${solve.pairs.length} x ${dim} entries exceed ${MAX_EIGENVECTOR_ENTRIES}`);
          }
        }
        if (!solve.converged) notes.push(`eigenvalues: not converged to tol ${tol} within maxIter ${maxIter}; see the residuals`);
      }
      if (parts.has('trace')) {
        const before = op.hvps;
        const opts = { tol: params.traceTol, maxProbes: params.maxProbes, rng: partRng(params.seed, 1), sketchSize: params.sketchSize, known: krylov };
        const t = await part('trace', `trace (${traceMethod})`, () => (traceMethod === 'hutchpp' ? hutchpp(op, opts) : hutchinson(op, opts)));
        result.trace = { method: traceMethod, ...t, hvps: op.hvps - before };
        if (!t.exact && !(t.stdErr <= params.traceTol * Math.abs(t.estimate))) {
          notes.push(`trace: standard error ${t.stdErr.toPrecision(3)} above ${params.traceTol} of the estimate after maxProbes ${params.maxProbes}`);
        }
      }
      if (parts.has('density')) {
        const before = op.hvps;
        const runs = await part('density', 'spectral density (SLQ)', () => slq(op, { runs: params.slqRuns, steps: slqSteps, rng: partRng(params.seed, 2) }));
        const d = broaden(runs, params.densityBins, params.densitySigmaSquared);
        result.density = {
          runs: params.slqRuns,
          steps: slqSteps,
          nodes: runs.map((r) => r.nodes),
          weights: runs.map((r) => r.weights),
          grid: d.grid,
          density: d.density,
          variance: d.variance,
          hvps: op.hvps - before,
        };
        if (ctx.artifacts) await ctx.artifacts.write('density.svg', new TextEncoder().encode(densitySvg(d.grid, d.density)), 'image/svg+xml');
      }
      if (parts.has('perLayer')) {
        const layers: LayerCurvature[] = [];
        await part('perLayer', 'per-tensor curvature', async () => {
          for (const [i, t] of tensors.entries()) {
            layers.push(
              await layerCurvature(op, t, {
                // Blocks always use Lanczos, so its tolerance (not power iteration's) applies.
                tol: params.tol ?? 1e-6,
                maxIter: Math.min(params.maxIter, maxSteps, 1000),
                traceTol: params.traceTol,
                maxProbes: params.maxProbes,
                traceMethod,
                sketchSize: params.sketchSize,
                exactBlockSize: params.exactBlockSize,
                rng: partRng(params.seed, 1000 + i),
              }),
            );
          }
        });
        result.perLayer = layers;
        result.perLayerRanking = [...layers].sort((a, b) => b.averageTrace - a.averageTrace).map((l) => l.name);
      }
      result.loss = Number.isFinite(op.loss) ? op.loss : null;
      result.gradNorm = op.gradient ? norm(op.gradient) : null;
      result.hvpCount = op.hvps;
      result.durationMs = performance.now() - started;
      ctx.progress(1, `done: ${op.hvps} Hessian-vector products`);
      return result;
    } finally {
      await runner.release();
    }
  },
};

/** The batches as a re-iterable source: built once and kept when small enough, else rebuilt per pass. */
function cachedBatches(make: () => Iterable<Batch>, keep: boolean): () => Iterable<Batch> {
  if (!keep) return make;
  let cache: Batch[] | null = null;
  return () => (cache ??= [...make()]);
}
