/**
 * Error codes shared by every edge (GraphQL extensions.code, CLI exit codes).
 * Inside the code base errors are thrown as AppError; the edges turn them into values.
 */
export const ERROR_CODES = [
  'BAD_MODEL',
  'UNSUPPORTED_OP',
  'BAD_DATASET',
  'DATASET_MISMATCH',
  'BAD_PARAMS',
  'BAD_CONFIG',
  'NOT_FOUND',
  'TOO_LARGE',
  /** An analysis needed more memory than its process may use (heap or RSS limit, or one tensor past it). */
  'RESOURCE_LIMIT',
  /** The job queue is full (ONNXSCOPE_MAX_QUEUED_JOBS): retry later. */
  'QUEUE_FULL',
  /** A GraphQL request over the cost limits (fields, aliases, list sizes, batched operations). */
  'QUERY_TOO_COMPLEX',
  /** The thing is in use (a delete while an analysis of it is queued or running). */
  'CONFLICT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'CANCELLED',
  'TIMEOUT',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export const isErrorCode = (code: unknown): code is ErrorCode => (ERROR_CODES as readonly unknown[]).includes(code);

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/** Errors caused by the caller's input (exit code 2 in the CLI); everything else is internal. */
export function isUserError(code: ErrorCode): boolean {
  return code !== 'INTERNAL';
}

export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new AppError('INTERNAL', message);
}

export const badModel = (message: string, details?: Record<string, unknown>) =>
  new AppError('BAD_MODEL', message, details);
export const badParams = (message: string, details?: Record<string, unknown>) =>
  new AppError('BAD_PARAMS', message, details);
