/** Exit codes and the one-line error report every subcommand shares (DESIGN.md, command line contract). */
import { AppError, isUserError, toAppError } from '../common/errors.js';

export const EXIT_OK = 0;
export const EXIT_INTERNAL = 1;
export const EXIT_BAD_INPUT = 2;
/** `gate`: the analyses ran and at least one rule failed (the same code as an internal failure, as CI reads both as red). */
export const EXIT_GATE_FAILED = 1;

/** Runs a subcommand's action: bad input exits 2 and internal failures 1, each with one line on stderr. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const e = toAppError(err);
      const line = `onnxscope: ${e.code}: ${e.message.replace(/\s*\n\s*/g, ' ')}`;
      process.stderr.write(`${line}\n`);
      if (!(err instanceof AppError) && err instanceof Error && process.env.ONNXSCOPE_DEBUG) process.stderr.write(`${err.stack}\n`);
      process.exit(isUserError(e.code) ? EXIT_BAD_INPUT : EXIT_INTERNAL);
    }
  };
}
