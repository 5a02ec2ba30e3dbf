/**
 * Streams a dataset through a model in batches: bounded memory for big datasets, a progress
 * report after each batch, and cancellation checked between batches (a running ORT call
 * cannot be interrupted, so a batch is the unit of cancellation latency).
 */
import { AppError } from '../../common/errors.js';
import { allocTyped } from '../onnx/dtype.js';
import { numel, type Tensor } from '../onnx/tensor.js';
import type { ModelRunner } from './runner.js';

export const DEFAULT_BATCH_SIZE = 64;

export interface SampleSource {
  /** count * prod(sampleShape) values, sample-major. */
  x: Float32Array;
  count: number;
  sampleShape: number[];
}

export interface BatchStreamOptions {
  batchSize?: number;
  /** Only the first maxSamples samples. */
  maxSamples?: number;
  signal?: AbortSignal;
  /** fraction in [0, 1] after each batch. */
  progress?: (fraction: number, message: string) => void;
}

export interface Batch {
  /** Index of the batch's first sample in the dataset. */
  start: number;
  count: number;
  outputs: Record<string, Tensor>;
}

export interface StreamStats {
  samples: number;
  batches: number;
  /** Time spent inside the model runs, seconds (excludes the caller's per-batch work). */
  runSeconds: number;
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AppError('CANCELLED', 'the analysis was cancelled');
}

export async function forEachBatch(
  runner: ModelRunner,
  data: SampleSource,
  onBatch: (batch: Batch) => void | Promise<void>,
  opts: BatchStreamOptions = {},
): Promise<StreamStats> {
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new AppError('BAD_PARAMS', `batchSize must be a positive integer, got ${batchSize}`);
  const total = Math.min(data.count, opts.maxSamples ?? data.count);
  const per = numel(data.sampleShape);
  let batches = 0;
  let runSeconds = 0;
  for (let start = 0; start < total; start += batchSize) {
    throwIfAborted(opts.signal);
    const count = Math.min(batchSize, total - start);
    const t0 = performance.now();
    const outputs = await runner.run(data.x.subarray(start * per, (start + count) * per), count);
    runSeconds += (performance.now() - t0) / 1000;
    await onBatch({ start, count, outputs });
    batches++;
    opts.progress?.((start + count) / total, `${start + count}/${total} samples`);
  }
  throwIfAborted(opts.signal);
  return { samples: total, batches, runSeconds };
}

/** All outputs for the whole (or first maxSamples of the) dataset, concatenated along the batch. */
export async function runBatches(
  runner: ModelRunner,
  data: SampleSource,
  opts: BatchStreamOptions = {},
): Promise<{ outputs: Record<string, Tensor>; stats: StreamStats }> {
  const total = Math.min(data.count, opts.maxSamples ?? data.count);
  const merged: Record<string, Tensor> = {};
  const stats = await forEachBatch(
    runner,
    data,
    ({ start, outputs }) => {
      for (const [name, t] of Object.entries(outputs)) {
        const per = t.data.length / t.dims[0]!;
        const into = (merged[name] ??= { dtype: t.dtype, dims: [total, ...t.dims.slice(1)], data: allocTyped(t.dtype, total * per) });
        (into.data as unknown as { set(a: ArrayLike<unknown>, o: number): void }).set(t.data as ArrayLike<unknown>, start * per);
      }
    },
    opts,
  );
  return { outputs: merged, stats };
}
