/**
 * ONNX Runtime's failures, given the codes of common/errors.ts. The runtime throws plain Errors
 * whose text says what went wrong; the ones caused by the model or the data fed to it are the
 * caller's problem (UNSUPPORTED_OP, BAD_MODEL, DATASET_MISMATCH), not INTERNAL; a failed
 * allocation is RESOURCE_LIMIT (`allocationFailure`, also what service/jobs gives any job error
 * that is one). Anything else (a runtime bug) stays as it was.
 */
import { AppError } from '../../common/errors.js';

const UNSUPPORTED = /No Op registered for|is not a registered function\/op|Could not find an implementation for/;
const BAD_MODEL = /This is an invalid model|Missing opset in the model|Unsupported model IR version|ValidateOpsetForDomain|INVALID_PROTOBUF|INVALID_GRAPH|ShapeInferenceError|TypeInferenceError|Type Error:|Load model from .* failed|Failed to load model/;
const MISMATCH = /Got invalid dimensions for input|Invalid rank for input|Unexpected input data type|Missing Input:|input '.*' is missing/i;

/** Messages of allocations that failed for want of memory (onnxruntime, V8, the C++ runtime). */
const ALLOCATION_FAILED = /Failed to allocate memory|bad_alloc|Array buffer allocation failed|Invalid typed array length|Invalid array length|out of memory/i;
const MB = 1024 * 1024;

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
/** The runtime's text on one line, without its source-path prefixes (/onnxruntime_src/...cc:202 fn(...)). */
const oneLine = (m: string) =>
  m
    .split('\n')
    .map((l) => l.replace(/^\/onnxruntime_src\/\S+ [^)]*\)\s*/, '').trim())
    .filter(Boolean)
    .join(' ');

/**
 * A failed allocation as RESOURCE_LIMIT, or null when `err` is not one. onnxruntime's message
 * quotes its own source paths; the size and the node are what matter.
 */
export function allocationFailure(err: unknown): AppError | null {
  const m = messageOf(err);
  if (!ALLOCATION_FAILED.test(m)) return null;
  const size = /requested buffer of size (\d+)/.exec(m)?.[1];
  const node = /running (\w+) node\. Name:'([^']*)'/.exec(m);
  const what = size ? `a buffer of ${(Number(size) / MB).toFixed(0)} MB${node ? ` (${node[1]} node "${node[2]}")` : ''}` : 'the memory it needs';
  return new AppError('RESOURCE_LIMIT', `the analysis could not allocate ${what}: the machine or the process's memory limit does not allow it`, size ? { bytes: Number(size) } : undefined);
}

/** A session that the runtime would not create. */
export function sessionCreateError(err: unknown): unknown {
  if (err instanceof AppError) return err;
  const m = messageOf(err);
  const memory = allocationFailure(err);
  if (memory) return memory;
  if (UNSUPPORTED.test(m)) return new AppError('UNSUPPORTED_OP', `the runtime has no kernel for an op of this model: ${oneLine(m)}`);
  if (BAD_MODEL.test(m)) return new AppError('BAD_MODEL', `the runtime refuses this model: ${oneLine(m)}`);
  return err;
}

/** A run that the runtime refused because of what was fed to it. */
export function sessionRunError(err: unknown): unknown {
  if (err instanceof AppError) return err;
  const m = messageOf(err);
  if (MISMATCH.test(m)) return new AppError('DATASET_MISMATCH', `the data does not fit the model's inputs: ${oneLine(m)}`);
  return allocationFailure(err) ?? err;
}
