/**
 * ONNX Runtime's failures, given the codes of common/errors.ts. The runtime throws plain Errors
 * whose text says what went wrong; the ones caused by the model or the data fed to it are the
 * caller's problem (UNSUPPORTED_OP, BAD_MODEL, DATASET_MISMATCH), not INTERNAL. Anything else
 * (memory, a runtime bug) stays as it was.
 */
import { AppError } from '../../common/errors.js';

const UNSUPPORTED = /No Op registered for|is not a registered function\/op|Could not find an implementation for/;
const BAD_MODEL = /This is an invalid model|Missing opset in the model|Unsupported model IR version|ValidateOpsetForDomain|INVALID_PROTOBUF|INVALID_GRAPH|ShapeInferenceError|TypeInferenceError|Type Error:|Load model from .* failed|Failed to load model/;
const MISMATCH = /Got invalid dimensions for input|Invalid rank for input|Unexpected input data type|Missing Input:|input '.*' is missing/i;

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
/** The runtime's text on one line, without its source-path prefixes (/onnxruntime_src/...cc:202 fn(...)). */
const oneLine = (m: string) =>
  m
    .split('\n')
    .map((l) => l.replace(/^\/onnxruntime_src\/\S+ [^)]*\)\s*/, '').trim())
    .filter(Boolean)
    .join(' ');

/** A session that the runtime would not create. */
export function sessionCreateError(err: unknown): unknown {
  if (err instanceof AppError) return err;
  const m = messageOf(err);
  if (UNSUPPORTED.test(m)) return new AppError('UNSUPPORTED_OP', `the runtime has no kernel for an op of this model: ${oneLine(m)}`);
  if (BAD_MODEL.test(m)) return new AppError('BAD_MODEL', `the runtime refuses this model: ${oneLine(m)}`);
  return err;
}

/** A run that the runtime refused because of what was fed to it. */
export function sessionRunError(err: unknown): unknown {
  if (err instanceof AppError) return err;
  const m = messageOf(err);
  if (MISMATCH.test(m)) return new AppError('DATASET_MISMATCH', `the data does not fit the model's inputs: ${oneLine(m)}`);
  return err;
}
