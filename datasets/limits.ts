/**
 * Size limits for decoding datasets. Checked before memory is committed where the format
 * allows (zip entries declare their uncompressed size; .npy headers declare their shape),
 * so a zip bomb or a lying header fails with TOO_LARGE instead of exhausting the worker.
 */
import { AppError } from '../common/errors.js';

export interface DatasetLimits {
  /** Sum of uncompressed zip entry sizes (npz, image folders). Default 1 GiB. */
  maxUncompressedBytes?: number;
  /** Values in x (count * per-sample elements). Default 256 Mi (1 GiB of float32). */
  maxValues?: number;
  /** Samples (rows, images). Default 1,000,000. */
  maxSamples?: number;
  /**
   * Bytes in one CSV line. Default 4 MiB (a 224x224x3 image as text is ~1.5 MB). Checked before
   * parsing: a 50 MB line would otherwise hold the server's event loop for minutes in csv-parse.
   */
  maxCsvLineBytes?: number;
}

export const DEFAULT_LIMITS: Required<DatasetLimits> = {
  maxUncompressedBytes: 1 << 30,
  maxValues: 256 * 1024 * 1024,
  maxSamples: 1_000_000,
  maxCsvLineBytes: 4 * 1024 * 1024,
};

export function resolveLimits(limits: DatasetLimits = {}): Required<DatasetLimits> {
  return { ...DEFAULT_LIMITS, ...Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)) };
}

export function checkLimit(what: string, value: number, limit: number): void {
  if (value > limit) throw limitError(what, value, limit);
}

export const limitError = (what: string, value: number, limit: number) => new AppError('TOO_LARGE', `${what} is ${value}; the limit is ${limit}`, { value, limit });

export const badDataset = (message: string, details?: Record<string, unknown>) => new AppError('BAD_DATASET', message, details);
