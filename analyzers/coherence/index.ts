/**
 * `coherence`: how aligned per-example gradients are (see metrics.ts for the definitions),
 * overall and per parameter tensor, next to the same metrics with shuffled labels (the
 * comparison the coherent-gradients papers rest on), optionally over a series of checkpoints.
 */
import type { Analyzer, AnalyzerContext, LoadedModel } from '../types.js';
import { LossRunner } from '../../native/autodiff/runner.js';
import { datasetBatches, sampleIndices, setupDifferentiable } from '../common/differentiable.js';
import { AppError } from '../../common/errors.js';
import { LOSS_MODEL_PARAMS, lossModelOptions, type LossModelParams } from '../common/loss-params.js';
import { Rng } from '../../common/random.js';
import { coherenceOf, newAccumulator, type CoherenceAccumulator, type CoherenceMetrics } from './metrics.js';

export interface CoherenceParams extends LossModelParams {
  batchSize: number;
  maxSamples: number;
  randomLabelControl: boolean;
  seed: number;
  checkpoints?: string[];
}

export interface LayerCoherence extends CoherenceMetrics {
  name: string;
  size: number;
}

export interface CoherenceReport {
  metrics: CoherenceMetrics;
  perLayer: LayerCoherence[];
}

export interface CheckpointCoherence {
  model: string;
  real: CoherenceReport;
  randomLabels: CoherenceReport | null;
}

export interface CoherenceResult {
  examples: number;
  parameterCount: number;
  lossKind: string;
  precision: string;
  batched: boolean;
  real: CoherenceReport;
  randomLabels: CoherenceReport | null;
  /** One entry per model when `checkpoints` is given (this model first). */
  series: CheckpointCoherence[] | null;
  notes: string[];
}

export const coherenceAnalyzer: Analyzer<CoherenceParams, CoherenceResult> = {
  name: 'coherence',
  version: 1,
  description: 'Per-example gradient coherence (alpha, m-coherence), gradient diversity and GSNR, with a shuffled-label control.',
  needsDataset: true,
  params: [
    { name: 'batchSize', type: 'int', default: 32, min: 1, max: 4096, description: 'Examples per runtime call.' },
    { name: 'maxSamples', type: 'int', default: 512, min: 2, max: 1_000_000, description: 'Number of examples m (the first m of the dataset).' },
    ...LOSS_MODEL_PARAMS,
    { name: 'randomLabelControl', type: 'bool', default: true, description: 'Also compute the metrics with labels shuffled (seeded).' },
    { name: 'seed', type: 'int', default: 0, min: 0, max: 2 ** 31 - 1, description: 'Seed of the label shuffle.' },
    { name: 'checkpoints', type: 'stringList', description: 'Other models (ids) of the same architecture: the metrics as a series.' },
  ],
  async run(ctx) {
    const { dataset, params } = ctx;
    if (!dataset) throw new AppError('BAD_PARAMS', 'coherence needs a dataset');
    if (!dataset.y) throw new AppError('BAD_DATASET', 'coherence needs labels (y)');
    const models: LoadedModel[] = [ctx.model];
    if (params.checkpoints && params.checkpoints.length > 0) {
      if (!ctx.resolveModel) throw new AppError('BAD_PARAMS', 'checkpoints need a model store (run through the service or give files to the CLI)');
      for (const ref of params.checkpoints) models.push(await ctx.resolveModel(ref));
    }
    const perSample = dataset.yShape.reduce((a, b) => a * b, 1);
    const shuffled = params.randomLabelControl ? shuffleSamples(dataset.y, perSample, params.seed) : null;
    const passes = models.length * (shuffled ? 2 : 1);
    let pass = 0;
    const series: CheckpointCoherence[] = [];
    let first: Omit<CoherenceResult, 'series'> | null = null;
    for (const model of models) {
      const setup = await setupDifferentiable(model.ir, dataset, {
        batchSize: params.batchSize,
        ...lossModelOptions(params),
      });
      const runner = await LossRunner.create(setup.prepared, { fixedParameters: true });
      try {
        const run = async (labels?: Int32Array | Float32Array) => {
          const report = await accumulate(ctx, runner, setup, labels, pass++, passes);
          return report;
        };
        const real = await run();
        const randomLabels = shuffled ? await run(shuffled) : null;
        series.push({ model: model.sha256, real, randomLabels });
        first ??= {
          examples: real.metrics.examples,
          parameterCount: runner.dim,
          lossKind: setup.prepared.lossKind,
          precision: setup.prepared.dtype,
          batched: setup.batched,
          real,
          randomLabels,
          notes: setup.notes,
        };
      } finally {
        await runner.release();
      }
    }
    return { ...first!, series: models.length > 1 ? series : null };
  },
};

async function accumulate(
  ctx: AnalyzerContext<CoherenceParams>,
  runner: LossRunner,
  setup: Awaited<ReturnType<typeof setupDifferentiable>>,
  labels: Int32Array | Float32Array | undefined,
  pass: number,
  passes: number,
): Promise<CoherenceReport> {
  const dataset = ctx.dataset!;
  const opts = { maxSamples: ctx.params.maxSamples, weighting: 'sum' as const, ...(labels ? { labels } : {}) };
  const m = sampleIndices(dataset, opts).length;
  const acc: CoherenceAccumulator = newAccumulator(runner.dim);
  for (const batch of datasetBatches(dataset, setup, opts)) {
    if (ctx.signal.aborted) throw new AppError('CANCELLED', 'cancelled');
    const stats = await runner.perExampleStats(batch);
    acc.m += stats.batch;
    for (let i = 0; i < runner.dim; i++) {
      acc.sumGrad[i] += stats.sumGrad[i]!;
      acc.sqSum[i] += stats.sqSum[i]!;
    }
    ctx.progress((pass + acc.m / m) / passes, `${labels ? 'shuffled labels' : 'real labels'}: ${acc.m}/${m} examples`);
  }
  const perLayer = setup.prepared.params.map((name, k) => {
    const from = runner.offsets[k]!;
    const size = setup.prepared.values.get(name)!.data.length;
    return { name, size, ...coherenceOf(acc, from, from + size) };
  });
  return { metrics: coherenceOf(acc), perLayer };
}

/** The labels of a seeded Fisher-Yates permutation of the samples (blocks of `per` values each). */
export function shuffleSamples<T extends Int32Array | Float32Array>(labels: T, per: number, seed: number): T {
  const n = labels.length / per;
  const order = Array.from({ length: n }, (_, i) => i);
  const rng = new Rng(seed + 1);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const out = labels.slice() as T;
  order.forEach((src, dst) => out.set(labels.subarray(src * per, (src + 1) * per), dst * per));
  return out;
}
