/**
 * `landscape`: the loss landscape around a model and between two models.
 *  - 1D / 2D loss surfaces along random filter-normalized directions (Li et al. 2018);
 *  - with `otherModel` (a model of the same architecture): linear interpolation (barrier,
 *    mcLinear), a trained quadratic Bezier curve (Garipov et al. 2018; `mc` of Yang et al. 2021),
 *    and linear CKA between the two models' outputs or a named layer (Kornblith et al. 2019).
 * Every point is an exact dataset-mean loss at a parameter vector (no sampling).
 */
import type { Analyzer, AnalyzerContext, LoadedModel, ParamValues } from '../types.js';
import { datasetBatches, setupDifferentiable, type DifferentiableSetup } from '../common/differentiable.js';
import { AppError } from '../../common/errors.js';
import { Rng } from '../../common/random.js';
import { layoutOf, randomDirection, type Normalization } from './directions.js';
import { linearCka, linspace, summarizePath } from './metrics.js';
import { bezierPoint, linearPoint, trainBend } from './curve.js';
import { Probe } from './probe.js';
import { heatmap, linePlot } from '../common/plot.js';
import type { CurveReport, LandscapeResult, PathReport, Surface1D, Surface2D } from './result.js';

export type { LandscapeResult } from './result.js';

export interface LandscapeParams extends ParamValues {
  surface: string;
  range: number;
  resolution: number;
  normalization: string;
  ignoreBiasAndNorm: boolean;
  otherModel?: string;
  points: number;
  curve: boolean;
  curveEpochs: number;
  curveLr: number;
  curveMomentum: number;
  recomputeBatchNorm: boolean;
  cka: boolean;
  ckaLayer?: string;
  batchSize: number;
  maxSamples: number;
  loss: string;
  precision: string;
  seed: number;
}

export const landscapeAnalyzer: Analyzer<LandscapeParams, LandscapeResult> = {
  name: 'landscape',
  // 2: batch-norm statistics recomputed along the line and the curve.
  version: 2,
  description:
    'Loss surfaces along filter-normalized random directions (1D/2D), and against otherModel: linear interpolation (barrier, mcLinear), a trained Bezier curve (mc) and linear CKA.',
  needsDataset: true,
  params: [
    { name: 'surface', type: 'enum', choices: ['none', '1d', '2d'], default: '1d', description: 'Random-direction surface around the model.' },
    { name: 'range', type: 'float', default: 1, min: 1e-6, max: 1e3, description: 'Surface grid spans [-range, range] along each direction.' },
    { name: 'resolution', type: 'int', default: 21, min: 2, max: 401, description: 'Grid points per surface axis.' },
    { name: 'normalization', type: 'enum', choices: ['filter', 'layer', 'none'], default: 'filter', description: 'Direction scaling (Li et al.: filter).' },
    { name: 'ignoreBiasAndNorm', type: 'bool', default: true, description: 'Zero the direction on biases and normalization parameters (rank <= 1 tensors).' },
    { name: 'otherModel', type: 'string', description: 'Id or sha256 of a stored model of the same architecture: interpolation, curve, CKA.' },
    { name: 'points', type: 'int', default: 21, min: 3, max: 1001, description: 'Values of t in [0, 1] on the line and the curve.' },
    { name: 'curve', type: 'bool', default: true, description: 'Train a quadratic Bezier bend between the models (needs otherModel).' },
    { name: 'curveEpochs', type: 'int', default: 10, min: 0, max: 10_000, description: 'Epochs of SGD on the bend (one random t per minibatch).' },
    { name: 'curveLr', type: 'float', default: 0.05, min: 0, max: 100, description: 'Learning rate of the bend.' },
    { name: 'curveMomentum', type: 'float', default: 0.9, min: 0, max: 0.999, description: 'SGD momentum of the bend (Garipov et al.: 0.9).' },
    { name: 'recomputeBatchNorm', type: 'bool', default: true, description: 'On the line and the curve between two models, recompute batch-norm running statistics at each point (a training-mode pass, as update_bn; Garipov et al.).' },
    { name: 'cka', type: 'bool', default: true, description: 'Linear CKA between the two models (needs otherModel).' },
    { name: 'ckaLayer', type: 'string', description: 'Tensor to compare (default: the first model output, i.e. logits).' },
    { name: 'batchSize', type: 'int', default: 256, min: 1, max: 65_536, description: 'Samples per runtime call (also the bend minibatch).' },
    { name: 'maxSamples', type: 'int', default: 2048, min: 1, max: 10_000_000, description: 'Use the first N samples.' },
    { name: 'loss', type: 'enum', choices: ['auto', 'mse'], default: 'auto', description: 'auto follows the output kind; mse for regression.' },
    { name: 'precision', type: 'enum', choices: ['auto', 'float32', 'float64'], default: 'auto', description: 'auto: float64 where the runtime has the kernels.' },
    { name: 'seed', type: 'int', default: 0, min: 0, max: 2 ** 31 - 1, description: 'Seed of the directions and of the bend training.' },
  ],
  async run(ctx) {
    return runLandscape(ctx);
  },
};

async function runLandscape(ctx: AnalyzerContext<LandscapeParams>): Promise<LandscapeResult> {
  const { params, dataset } = ctx;
  if (!dataset) throw new AppError('BAD_PARAMS', 'landscape needs a dataset');
  if (!dataset.y) throw new AppError('BAD_DATASET', 'landscape needs labels (y)');
  const pairwise = params.otherModel !== undefined && params.otherModel !== '';
  let other: LoadedModel | null = null;
  if (pairwise) {
    if (!ctx.resolveModel) throw new AppError('BAD_PARAMS', 'otherModel needs a model store (run through the service, or give --model2 to the CLI)');
    other = await ctx.resolveModel(params.otherModel!);
  }
  const prepareOpts = { batchSize: params.batchSize, loss: params.loss === 'mse' ? ('mse' as const) : ('auto' as const), precision: params.precision as 'auto' | 'float32' | 'float64' };
  const setup = await setupDifferentiable(ctx.model.ir, dataset, prepareOpts);
  const batches = [...datasetBatches(dataset, setup, { maxSamples: params.maxSamples })];
  const wantCka = pairwise && params.cka;
  const probe = await Probe.create(setup, batches, wantCka ? (params.ckaLayer ?? null) : null, { recomputeBatchNorm: pairwise && params.recomputeBatchNorm });
  const notes = [...setup.notes];
  if (probe.batchNormNote) notes.push(probe.batchNormNote);
  try {
    const theta = probe.parameters();
    const theta1 = other ? await otherParameters(other, dataset, setup, prepareOpts, notes) : null;
    // Work units for progress: one per evaluation of the whole set, one per bend step.
    const surfaceEvals = params.surface === '1d' ? params.resolution : params.surface === '2d' ? params.resolution ** 2 : 0;
    const curveSteps = pairwise && params.curve ? params.curveEpochs * batches.length : 0;
    const total = 1 + surfaceEvals + (pairwise ? params.points * (params.curve ? 2 : 1) + curveSteps + (wantCka ? 1 : 0) : 0);
    let done = 0;
    const tick = (message: string) => {
      if (ctx.signal.aborted) throw new AppError('CANCELLED', 'cancelled');
      ctx.progress(++done / total, message);
    };
    const centre = await probe.evaluate(theta);
    tick('centre');
    const layout = layoutOf(setup.prepared.model, setup.prepared.params, setup.prepared.params.map((p) => setup.prepared.values.get(p)!.dims));
    const rng = new Rng(params.seed);
    const dirOpts = { normalization: params.normalization as Normalization, ignoreBiasAndNorm: params.ignoreBiasAndNorm };
    const point = new Float64Array(theta.length);
    let surface1d: Surface1D | null = null;
    let surface2d: Surface2D | null = null;
    if (params.surface !== 'none') {
      const axis = linspace(-params.range, params.range, params.resolution);
      const d1 = randomDirection(theta, layout, rng, dirOpts);
      if (params.surface === '1d') {
        const losses: number[] = [];
        const accuracies: Array<number | null> = [];
        for (const a of axis) {
          for (let i = 0; i < point.length; i++) point[i] = theta[i]! + a * d1[i]!;
          const p = await probe.evaluate(point);
          losses.push(p.loss);
          accuracies.push(p.accuracy);
          tick(`1D surface ${losses.length}/${axis.length}`);
        }
        surface1d = { alphas: axis, losses, accuracies };
      } else {
        const d2 = randomDirection(theta, layout, rng, dirOpts);
        const losses: number[][] = [];
        for (const b of axis) {
          const row: number[] = [];
          for (const a of axis) {
            for (let i = 0; i < point.length; i++) point[i] = theta[i]! + a * d1[i]! + b * d2[i]!;
            row.push((await probe.evaluate(point)).loss);
            tick(`2D surface ${losses.length * axis.length + row.length}/${axis.length ** 2}`);
          }
          losses.push(row);
        }
        surface2d = { alphas: axis, betas: axis, losses, directionCosine: cosine(d1, d2) };
      }
    }
    let interpolation: PathReport | null = null;
    let curve: CurveReport | null = null;
    let cka: LandscapeResult['cka'] = null;
    if (theta1) {
      const ts = linspace(0, 1, params.points);
      interpolation = await tracePath(ts, (t) => linearPoint(t, theta, theta1, point), probe, tick, 'line');
      if (params.curve) {
        const training = await trainBend(
          theta,
          theta1,
          { epochs: params.curveEpochs, lr: params.curveLr, momentum: params.curveMomentum, batches: batches.length, seed: params.seed },
          (th, k) => probe.gradient(th, k),
          (s, n) => tick(`bend ${s}/${n}`),
        );
        const path = await tracePath(ts, (t) => bezierPoint(t, theta, training.bend, theta1, point), probe, tick, 'curve');
        const { mcLinear, ...onCurve } = path;
        curve = { ...onCurve, mc: mcLinear, epochs: params.curveEpochs, lr: params.curveLr, epochLosses: training.epochLosses, steps: training.steps };
      }
      if (wantCka) {
        const a = (await probe.evaluate(theta, true)).representation!;
        const b = (await probe.evaluate(theta1, true)).representation!;
        cka = { layer: params.ckaLayer ?? probe.output, value: linearCka(a.values, a.width, b.values, b.width, a.n), examples: a.n, width: a.width };
        tick('cka');
      }
    }
    const result: LandscapeResult = {
      parameterCount: theta.length,
      examples: probe.count,
      lossKind: setup.prepared.lossKind,
      precision: setup.prepared.dtype,
      batched: setup.batched,
      seed: params.seed,
      normalization: params.normalization,
      ignoreBiasAndNorm: params.ignoreBiasAndNorm,
      loss: centre.loss,
      accuracy: centre.accuracy,
      otherModel: other?.sha256 ?? null,
      surface1d,
      surface2d,
      interpolation,
      curve,
      cka,
      notes,
    };
    if (ctx.artifacts) await writeArtifacts(ctx, result);
    return result;
  } finally {
    await probe.release();
  }
}

/** The other model's parameters in this model's flat order; refuses another architecture. */
async function otherParameters(
  other: LoadedModel,
  dataset: NonNullable<AnalyzerContext['dataset']>,
  setup: DifferentiableSetup,
  opts: Parameters<typeof setupDifferentiable>[2],
  notes: string[],
): Promise<Float64Array> {
  const o = await setupDifferentiable(other.ir, dataset, opts);
  const mine = setup.prepared.params.map((p) => setup.prepared.values.get(p)!.dims.join('x'));
  const theirs = o.prepared.params.map((p) => o.prepared.values.get(p)!.dims.join('x'));
  if (mine.join(',') !== theirs.join(',')) {
    throw new AppError('BAD_PARAMS', `otherModel has another architecture: parameter shapes [${theirs.join(', ')}] vs [${mine.join(', ')}]`);
  }
  if (o.prepared.params.some((p, k) => p !== setup.prepared.params[k])) notes.push('otherModel names its parameters differently; matched by position and shape');
  const out = new Float64Array(setup.prepared.parameterCount);
  let off = 0;
  for (const p of o.prepared.params) {
    const d = o.prepared.values.get(p)!.data;
    for (let i = 0; i < d.length; i++) out[off + i] = Number(d[i]);
    off += d.length;
  }
  return out;
}

async function tracePath(
  ts: number[],
  at: (t: number) => Float64Array,
  probe: Probe,
  tick: (m: string) => void,
  what: string,
): Promise<PathReport> {
  const losses: number[] = [];
  const accuracies: Array<number | null> = [];
  for (const t of ts) {
    const p = await probe.evaluate(at(t), false, true);
    losses.push(p.loss);
    accuracies.push(p.accuracy);
    tick(`${what} ${losses.length}/${ts.length}`);
  }
  const s = summarizePath(ts, losses);
  return { ts, losses, accuracies, barrier: s.barrier, mcLinear: s.mc, tStar: s.tStar };
}

function cosine(a: Float64Array, b: Float64Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

async function writeArtifacts(ctx: AnalyzerContext<LandscapeParams>, r: LandscapeResult): Promise<void> {
  const put = (name: string, svg: string) => ctx.artifacts!.write(name, new TextEncoder().encode(svg), 'image/svg+xml');
  if (r.surface1d) await put('surface1d.svg', linePlot('Loss along a filter-normalized direction', 'alpha', 'loss', [{ name: 'loss', x: r.surface1d.alphas, y: r.surface1d.losses }]));
  if (r.surface2d) {
    const flat = r.surface2d.losses.flat();
    const lo = Math.min(...flat);
    const hi = Math.max(...flat);
    const levels = linspace(lo, hi, 12).slice(1, -1);
    await put('surface2d.svg', heatmap(r.surface2d.losses, {
      title: 'Loss surface (filter-normalized directions)', xLabel: 'alpha', yLabel: 'beta',
      xRange: [r.surface2d.alphas[0]!, r.surface2d.alphas.at(-1)!], yRange: [r.surface2d.betas[0]!, r.surface2d.betas.at(-1)!], contours: levels,
    }));
  }
  if (r.interpolation) {
    const series = [{ name: 'linear', x: r.interpolation.ts, y: r.interpolation.losses }];
    if (r.curve) series.push({ name: 'Bezier curve', x: r.curve.ts, y: r.curve.losses });
    await put('paths.svg', linePlot('Loss between the two models', 't', 'loss', series));
  }
}
