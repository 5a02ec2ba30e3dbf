/**
 * onnxruntime-node sessions. This file owns session creation; everything that runs a
 * model goes through createSession/runSession.
 */
import * as ort from 'onnxruntime-node';
import type { Tensor } from '../onnx/tensor.js';
import type { DType } from '../onnx/dtype.js';

export { ort };

export interface SessionOptions {
  /** Disable ORT's graph optimizations (used by shape probing, which needs every intermediate). */
  optimize?: boolean;
  intraOpThreads?: number;
}

export async function createSession(bytes: Uint8Array, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: opts.optimize === false ? 'disabled' : 'all',
    ...(opts.intraOpThreads ? { intraOpNumThreads: opts.intraOpThreads } : {}),
  });
}

const ORT_TYPE: Partial<Record<DType, ort.Tensor.Type>> = {
  float32: 'float32',
  float64: 'float64',
  int64: 'int64',
  int32: 'int32',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool',
  float16: 'float16',
};

export function toOrt(t: Tensor): ort.Tensor {
  const type = ORT_TYPE[t.dtype];
  if (!type) throw new Error(`no runtime tensor type for ${t.dtype}`);
  return new ort.Tensor(type, t.data as never, t.dims);
}

const FROM_ORT: Record<string, DType> = {
  float32: 'float32',
  float64: 'float64',
  int64: 'int64',
  int32: 'int32',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool',
  float16: 'float16',
};

export function fromOrt(t: ort.Tensor): Tensor {
  const dtype = FROM_ORT[t.type];
  if (!dtype) throw new Error(`runtime returned unsupported tensor type ${t.type}`);
  return { dtype, dims: [...t.dims], data: t.data as Tensor['data'] };
}

/** Runs a session on JS tensors and returns JS tensors for the requested outputs (all by default). */
export async function runSession(
  session: ort.InferenceSession,
  feeds: Record<string, Tensor>,
  outputs?: string[],
): Promise<Record<string, Tensor>> {
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = toOrt(v);
  const result = outputs ? await session.run(ortFeeds, outputs) : await session.run(ortFeeds);
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(result)) out[k] = fromOrt(v);
  return out;
}
