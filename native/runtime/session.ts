/**
 * onnxruntime-node sessions. This file owns session creation; everything that runs a
 * model goes through createSession/runSession.
 *
 * Execution provider: CUDA is tried first (ONNXSCOPE_EP unset, 'auto' or 'cuda'), because
 * onnxruntime-node has no silent fallback: asking for CUDA without its libraries throws
 * "Failed to load shared library" at session creation. We catch that once, fall back to CPU,
 * remember the outcome for the life of the process (so later sessions do not pay for the
 * failed attempt again) and log one line. ONNXSCOPE_EP=cpu skips the attempt.
 */
import * as ort from 'onnxruntime-node';
import type { Tensor } from '../onnx/tensor.js';
import { serializeModel, type Model } from '../onnx/ir.js';
import type { DType } from '../onnx/dtype.js';
import { inputsOverwrittenByRun } from './in-place.js';
import { sessionCreateError, sessionRunError } from './errors.js';
import { chooseProviders, onSessionCreated, onSessionFailed, type ProviderPlan } from './providers.js';

export { ort };
export { runtimeInfo, resetProviderChoice, setRuntimeLogger, type RuntimeInfo } from './providers.js';

export interface SessionOptions {
  /** Disable ORT's graph optimizations (used by shape probing, which needs every intermediate). */
  optimize?: boolean;
  intraOpThreads?: number;
  interOpThreads?: number;
}

/** Threads from the environment when the caller does not say (ONNXSCOPE_INTRA_OP_THREADS / _INTER_OP_). */
function threadOption(explicit: number | undefined, envName: string): number | undefined {
  if (explicit && explicit > 0) return explicit;
  const v = Number(process.env[envName]);
  return Number.isInteger(v) && v > 0 ? v : undefined;
}

/** Per session, the graph inputs a run writes to (see in-place.ts): fed as copies. */
const copiedInputs = new WeakMap<ort.InferenceSession, ReadonlySet<string>>();

export async function createSession(bytes: Uint8Array, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  const session = await createProviderSession(bytes, opts);
  const overwritten = inputsOverwrittenByRun(bytes);
  if (overwritten.size > 0) copiedInputs.set(session, overwritten);
  return session;
}

async function createProviderSession(bytes: Uint8Array, opts: SessionOptions): Promise<ort.InferenceSession> {
  const intra = threadOption(opts.intraOpThreads, 'ONNXSCOPE_INTRA_OP_THREADS');
  const inter = threadOption(opts.interOpThreads, 'ONNXSCOPE_INTER_OP_THREADS');
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: opts.optimize === false ? 'disabled' : 'all',
    // Explicit, because the process-wide level may be 'fatal' (see quietFirstAttempt).
    logSeverityLevel: 2,
    ...(intra ? { intraOpNumThreads: intra } : {}),
    ...(inter ? { interOpNumThreads: inter } : {}),
  };
  const plan: ProviderPlan = chooseProviders();
  if (plan.tryCuda) {
    quietFirstAttempt();
    try {
      // CPU stays in the list so nodes without a CUDA kernel (e.g. some float64 ops) still run.
      const session = await ort.InferenceSession.create(bytes, { ...base, executionProviders: ['cuda', 'cpu'] });
      onSessionCreated('cuda', intra, inter);
      return session;
    } catch (err) {
      // A provider that cannot load is remembered, so later sessions go straight to CPU. Any
      // other failure is retried on CPU below without a verdict: a bad model fails there too,
      // and that error is the one the caller sees.
      if (isProviderLoadFailure(err)) onSessionFailed('cuda', (err as Error).message);
    }
  }
  const session = await ort.InferenceSession.create(bytes, { ...base, executionProviders: ['cpu'] }).catch((err: unknown) => {
    throw sessionCreateError(err);
  });
  onSessionCreated('cpu', intra, inter);
  return session;
}

let quieted = false;

/**
 * A failed CUDA load makes onnxruntime print a multi-line native error through its process-wide
 * logger, which is created with the first session. We report the fallback ourselves in one
 * line, so that logger is created at 'fatal'; sessions keep warnings via logSeverityLevel.
 */
function quietFirstAttempt(): void {
  if (quieted) return;
  quieted = true;
  if (!process.env.ONNXSCOPE_ORT_VERBOSE) ort.env.logLevel = 'fatal';
}

/** The messages onnxruntime-node gives when an execution provider's shared libraries are missing or broken. */
export function isProviderLoadFailure(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /Failed to load (shared )?librar|cannot open shared object|AppendExecutionProvider/i.test(message);
}

/** Element types whose names are the same in our IR and in onnxruntime-node. */
const SHARED_TYPES = new Set<string>(['float32', 'float64', 'int64', 'int32', 'int8', 'uint8', 'bool', 'float16']);

export function toOrt(t: Tensor): ort.Tensor {
  if (!SHARED_TYPES.has(t.dtype)) throw new Error(`no runtime tensor type for ${t.dtype}`);
  return new ort.Tensor(t.dtype as ort.Tensor.Type, t.data as never, t.dims);
}

export function fromOrt(t: ort.Tensor): Tensor {
  if (!SHARED_TYPES.has(t.type)) throw new Error(`runtime returned unsupported tensor type ${t.type}`);
  return { dtype: t.type as DType, dims: [...t.dims], data: t.data as Tensor['data'] };
}

/** Runs a session on JS tensors and returns JS tensors for the requested outputs (all by default). */
export async function runSession(
  session: ort.InferenceSession,
  feeds: Record<string, Tensor>,
  outputs?: string[],
): Promise<Record<string, Tensor>> {
  const ortFeeds: Record<string, ort.Tensor> = {};
  const copied = copiedInputs.get(session);
  for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = toOrt(copied?.has(k) ? { ...v, data: v.data.slice() as Tensor['data'] } : v);
  const result = await (outputs ? session.run(ortFeeds, outputs) : session.run(ortFeeds)).catch((err: unknown) => {
    throw sessionRunError(err);
  });
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(result)) out[k] = fromOrt(v);
  return out;
}

/** One run of a model in a session of its own, released afterwards (checks, probes, one-off runs). */
export async function runModelOnce(model: Model, feeds: Record<string, Tensor>, outputs?: string[]): Promise<Record<string, Tensor>> {
  const session = await createSession(serializeModel(model));
  try {
    return await runSession(session, feeds, outputs);
  } finally {
    await session.release();
  }
}
