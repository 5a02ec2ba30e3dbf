/**
 * `gradients`: the loss over a dataset and its exact gradient with respect to the parameters,
 * streamed in batches (batch weights 1/N, so the sum over batches is the dataset mean).
 * With an artifact sink the full gradient is written as gradient.npz (one array per tensor).
 */
import type { Analyzer } from '../types.js';
import { LossRunner } from '../../native/autodiff/runner.js';
import { datasetBatches, sampleIndices, setupDifferentiable } from '../common/differentiable.js';
import { AppError } from '../../common/errors.js';
import { LOSS_MODEL_PARAMS, lossModelOptions, type LossModelParams } from '../common/loss-params.js';
import { writeNpz } from '../../datasets/npz.js';
import type { NpyWritable } from '../../datasets/npy.js';

export interface GradientsParams extends LossModelParams {
  batchSize: number;
  maxSamples?: number;
}

export interface TensorGradient {
  name: string;
  shape: number[];
  size: number;
  norm: number;
  maxAbs: number;
}

export interface GradientsResult {
  loss: number;
  lossKind: string;
  gradNorm: number;
  parameterCount: number;
  samples: number;
  batchSize: number;
  batched: boolean;
  precision: string;
  tensors: TensorGradient[];
  notes: string[];
}

export const gradientsAnalyzer: Analyzer<GradientsParams, GradientsResult> = {
  name: 'gradients',
  version: 1,
  description: 'Loss and exact gradient w.r.t. the parameters over the dataset, with per-tensor gradient norms.',
  needsDataset: true,
  params: [
    { name: 'batchSize', type: 'int', default: 64, min: 1, max: 4096, description: 'Samples per runtime call.' },
    { name: 'maxSamples', type: 'int', min: 1, max: 10_000_000, description: 'Use only the first N samples.' },
    ...LOSS_MODEL_PARAMS,
  ],
  async run(ctx) {
    const { params, dataset } = ctx;
    if (!dataset) throw new AppError('BAD_PARAMS', 'gradients needs a dataset');
    const setup = await setupDifferentiable(ctx.model.ir, dataset, {
      batchSize: params.batchSize,
      ...lossModelOptions(params),
    });
    const runner = await LossRunner.create(setup.prepared, { gradient: true, fixedParameters: true });
    try {
      const total = sampleIndices(dataset, { ...(params.maxSamples ? { maxSamples: params.maxSamples } : {}) }).length;
      const grad = new Float64Array(runner.dim);
      let loss = 0;
      let done = 0;
      for (const batch of datasetBatches(dataset, setup, { ...(params.maxSamples ? { maxSamples: params.maxSamples } : {}) })) {
        if (ctx.signal.aborted) throw new AppError('CANCELLED', 'cancelled');
        const r = await runner.gradient(batch);
        loss += r.loss;
        for (let i = 0; i < grad.length; i++) grad[i] += r.grad[i]!;
        done += batch.labels.dims[0]!;
        ctx.progress(done / total, `${done}/${total} samples`);
      }
      const tensors = setup.prepared.params.map((name, k) => {
        const ref = setup.prepared.values.get(name)!;
        const o = runner.offsets[k]!;
        let sq = 0;
        let maxAbs = 0;
        for (let i = o; i < o + ref.data.length; i++) {
          sq += grad[i]! * grad[i]!;
          maxAbs = Math.max(maxAbs, Math.abs(grad[i]!));
        }
        return { name, shape: ref.dims, size: ref.data.length, norm: Math.sqrt(sq), maxAbs };
      });
      if (ctx.artifacts) {
        const arrays: Record<string, NpyWritable> = {};
        setup.prepared.params.forEach((name, k) => {
          const o = runner.offsets[k]!;
          const ref = setup.prepared.values.get(name)!;
          arrays[name] = { dtype: 'f4', shape: ref.dims, data: Float32Array.from(grad.subarray(o, o + ref.data.length)) };
        });
        await ctx.artifacts.write('gradient.npz', writeNpz(arrays), 'application/octet-stream');
      }
      return {
        loss,
        lossKind: setup.prepared.lossKind,
        gradNorm: Math.sqrt(grad.reduce((s, g) => s + g * g, 0)),
        parameterCount: runner.dim,
        samples: total,
        batchSize: setup.batchSize,
        batched: setup.batched,
        precision: setup.prepared.dtype,
        tensors,
        notes: setup.notes,
      };
    } finally {
      await runner.release();
    }
  },
};
