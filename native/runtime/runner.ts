/**
 * A model ready to take batches of samples, whatever its export did with the batch size:
 * batched through the rewritten graph when native/onnx/batchify.ts could verify it, else one
 * sample at a time with the outputs stacked, so callers never see the difference (except in
 * `batched` and the speed).
 */
import type { LoadedModel } from '../onnx/loaded.js';
import { AppError } from '../../common/errors.js';
import { prepareBatched, type BatchPlan } from '../onnx/batchify.js';
import { serializeModel } from '../onnx/ir.js';
import { numel, type Tensor } from '../onnx/tensor.js';
import { allocTyped, type DType, type TypedArray } from '../onnx/dtype.js';
import { runSession } from './session.js';
import { sessionCache, type SessionCache, type SessionLease } from './cache.js';

export interface ModelRunner {
  readonly inputName: string;
  /** Per-sample input shape (the model input without its batch dimension). */
  readonly sampleShape: number[];
  readonly outputNames: string[];
  /** True when whole batches go through one session call. */
  readonly batched: boolean;
  readonly plan: BatchPlan;
  /** Runs `count` samples (sample-major in x) and returns each output as [count, ...]. */
  run(x: Float32Array, count: number): Promise<Record<string, Tensor>>;
  /** Ends the session leases (the sessions stay in the cache). */
  close(): void;
}

export interface RunnerOptions {
  /** Per-sample shape of the data that will be fed; needed when the model's own dims are symbolic. */
  sampleShape: number[];
  /** false: never rewrite, run per sample (or as-is when the model is already batched). */
  allowBatching?: boolean;
  /** A few real samples (sample-major, float32) to verify the batched rewrite with. */
  verifySamples?: Float32Array;
  cache?: SessionCache;
}

// Plans are deterministic for a model; keep the last few so repeated analyses skip verification.
const plans = new Map<string, Promise<BatchPlan>>();
const MAX_PLANS = 16;

async function planFor(model: LoadedModel, opts: RunnerOptions): Promise<BatchPlan> {
  let plan = plans.get(model.sha256);
  if (!plan) {
    const input = model.ir.graph.inputs[0]!;
    const samples = opts.verifySamples && input.dtype === 'float32' ? { [input.name]: opts.verifySamples } : undefined;
    plan = prepareBatched(model.ir, samples ? { samples } : {});
    plans.set(model.sha256, plan);
    plan.catch(() => plans.delete(model.sha256));
    if (plans.size > MAX_PLANS) plans.delete(plans.keys().next().value as string);
  }
  return plan;
}

function convertInput(x: Float32Array, dtype: DType): TypedArray {
  if (dtype === 'float32') return x;
  if (dtype === 'float64') return Float64Array.from(x);
  throw new AppError('BAD_MODEL', `model input has element type ${dtype}; only float32/float64 inputs can be fed from a dataset`);
}

/** Stacks per-sample outputs (each [1, ...] or unbatched [...]) into [count, ...]. */
function stack(parts: Tensor[]): Tensor {
  const first = parts[0]!;
  const per = first.dims[0] === 1 ? first.dims.slice(1) : first.dims;
  const n = first.data.length;
  const data = allocTyped(first.dtype, n * parts.length);
  parts.forEach((p, i) => (data as unknown as { set(a: ArrayLike<unknown>, o: number): void }).set(p.data as ArrayLike<unknown>, i * n));
  return { dtype: first.dtype, dims: [parts.length, ...per], data };
}

export async function openRunner(model: LoadedModel, opts: RunnerOptions): Promise<ModelRunner> {
  const g = model.ir.graph;
  if (g.inputs.length !== 1) {
    throw new AppError('BAD_MODEL', `the model has ${g.inputs.length} inputs (${g.inputs.map((v) => v.name).join(', ')}); dataset analyses feed exactly one`);
  }
  const input = g.inputs[0]!;
  const cache = opts.cache ?? sessionCache;
  const sampleShape = opts.sampleShape;
  const perSample = numel(sampleShape);
  const plan: BatchPlan =
    opts.allowBatching === false
      ? { model: model.ir, batched: false, reason: 'batching disabled by the caller', changes: [] }
      : await planFor(model, opts);
  const variant = plan.batched && plan.changes.length > 0 ? 'batched' : 'original';
  const lease: SessionLease = await cache.acquire(model.sha256, variant, () =>
    variant === 'original' ? model.bytes : serializeModel(plan.model),
  );
  const outputNames = g.outputs.map((o) => o.name);
  let closed = false;

  const runOnce = (data: TypedArray, count: number) =>
    runSession(lease.session, { [input.name]: { dtype: input.dtype, dims: [count, ...sampleShape], data } });

  return {
    inputName: input.name,
    sampleShape,
    outputNames,
    batched: plan.batched,
    plan,
    async run(x, count) {
      if (closed) throw new AppError('INTERNAL', 'runner used after close()');
      if (x.length !== count * perSample) throw new AppError('INTERNAL', `runner: ${x.length} values for ${count} samples of [${sampleShape}]`);
      const data = convertInput(x, input.dtype);
      if (plan.batched) return runOnce(data, count);
      const parts: Record<string, Tensor[]> = {};
      for (let s = 0; s < count; s++) {
        const out = await runOnce(data.subarray(s * perSample, (s + 1) * perSample), 1);
        for (const [k, t] of Object.entries(out)) (parts[k] ??= []).push(t);
      }
      return Object.fromEntries(Object.entries(parts).map(([k, ts]) => [k, stack(ts)]));
    },
    close() {
      if (closed) return;
      closed = true;
      lease.release();
    },
  };
}
