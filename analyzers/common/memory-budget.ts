/**
 * Batches sized to a memory budget (ONNXSCOPE_MEMORY_MB, default 2048). A derived graph keeps
 * every activation of the forward pass for the backward pass, and an HVP graph adds tangents of
 * both, so the per-sample cost is estimated from the probed shapes of the loss model: the
 * batch-dependent tensors' bytes times GRAPH_COPIES. Parameters (and the few vectors of their
 * size an analyzer holds) are a fixed cost. A model whose single sample does not fit gets
 * TOO_LARGE with the numbers, instead of a heap exhaustion halfway through.
 */
import { AppError } from '../../common/errors.js';
import type { ShapeMap } from '../../native/autodiff/shapes.js';

export const DEFAULT_MEMORY_MB = 2048;

/** Forward activations, their cotangents, and (HVP) the tangents of both. */
const GRAPH_COPIES = 4;
/** Parameter-sized vectors an analyzer holds at once (values, gradient, Lanczos basis slack). */
const PARAMETER_COPIES = 8;

export function memoryBudgetMb(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.ONNXSCOPE_MEMORY_MB;
  if (raw === undefined || raw === '') return DEFAULT_MEMORY_MB;
  const mb = Number(raw);
  if (!Number.isFinite(mb) || mb <= 0) throw new AppError('BAD_PARAMS', `ONNXSCOPE_MEMORY_MB must be a positive number of megabytes, got "${raw}"`);
  return mb;
}

export interface BudgetedBatch {
  batchSize: number;
  /** Estimated bytes per sample and fixed bytes, for notes and errors. */
  perSampleBytes: number;
  fixedBytes: number;
  /** Set when the budget lowered the requested batch size. */
  note?: string;
}

const MB = 1024 * 1024;
const mb = (bytes: number) => (bytes / MB).toFixed(1);

/**
 * Bytes one more sample adds: every probed tensor whose first dim follows the batch (null in the
 * probe). A model that runs one sample at a time (`batched` false) has no such dim: then every
 * tensor but the parameters (`fixed`) counts.
 */
export function perSampleActivationBytes(shapes: ShapeMap, dtypeBytes: number, batched: boolean, fixed: ReadonlySet<string>): number {
  let elements = 0;
  for (const [name, { dims }] of shapes) {
    if (fixed.has(name) || dims.length === 0 || (batched && dims[0] !== null)) continue;
    elements += dims.slice(batched ? 1 : 0).reduce<number>((a, d) => a * (d ?? 1), 1);
  }
  return elements * dtypeBytes * GRAPH_COPIES;
}

export function budgetBatch(opts: { requested: number; perSampleBytes: number; parameterBytes: number; what: string; budgetMb?: number }): BudgetedBatch {
  const budgetMb = opts.budgetMb ?? memoryBudgetMb();
  const budget = budgetMb * MB;
  const fixedBytes = opts.parameterBytes * PARAMETER_COPIES;
  const room = budget - fixedBytes;
  if (room < opts.perSampleBytes) {
    throw new AppError(
      'TOO_LARGE',
      `${opts.what} needs about ${mb(fixedBytes + opts.perSampleBytes)} MB for one sample (${mb(opts.perSampleBytes)} MB of activations per sample, ` +
        `${mb(fixedBytes)} MB for parameters) but the memory budget is ${budgetMb} MB (ONNXSCOPE_MEMORY_MB); raise it or use smaller inputs`,
      { perSampleBytes: opts.perSampleBytes, fixedBytes, budgetMb },
    );
  }
  const fits = opts.perSampleBytes > 0 ? Math.floor(room / opts.perSampleBytes) : opts.requested;
  if (fits >= opts.requested) return { batchSize: opts.requested, perSampleBytes: opts.perSampleBytes, fixedBytes };
  return {
    batchSize: fits,
    perSampleBytes: opts.perSampleBytes,
    fixedBytes,
    note: `batch size ${opts.requested} lowered to ${fits} to stay within the ${budgetMb} MB memory budget (about ${mb(opts.perSampleBytes)} MB per sample)`,
  };
}
