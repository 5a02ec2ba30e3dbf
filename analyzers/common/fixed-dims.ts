/**
 * The step every analysis run takes before the analyzer sees the model (`runSpecialized`, called
 * by service/jobs/execute.ts):
 * symbolic input dims beyond the batch fixed from the dataset's sample shape
 * (native/onnx/fix-dims.ts). The run's result then carries `fixedDims`, saying what was fixed.
 */
import { serializeModel } from '../../native/onnx/ir.js';
import { fixInputDims, type FixedDim } from '../../native/onnx/fix-dims.js';
import type { Analyzer, AnalyzerContext, LoadedDataset, LoadedModel, ParamValues } from '../types.js';

export type { FixedDim } from '../../native/onnx/fix-dims.js';

export function specializeToDataset(model: LoadedModel, dataset: LoadedDataset | null): { model: LoadedModel; fixedDims: FixedDim[] } {
  if (!dataset) return { model, fixedDims: [] };
  const { model: ir, fixed } = fixInputDims(model.ir, dataset.sampleShape);
  if (fixed.length === 0) return { model, fixedDims: [] };
  const tag = fixed.map((f) => `${f.axis}=${f.value}`).join(',');
  // A distinct hash: runtime sessions are cached by it, and this graph differs from the file's.
  return { model: { sha256: `${model.sha256}:dims(${tag})`, bytes: serializeModel(ir), ir }, fixedDims: fixed };
}

/** The analyzer's result with `fixedDims` added (additive: results without fixed dims are unchanged). */
export function withFixedDims<R>(result: R, fixedDims: FixedDim[]): R {
  if (fixedDims.length === 0 || result === null || typeof result !== 'object' || Array.isArray(result)) return result;
  return { ...result, fixedDims };
}

/**
 * How every run calls an analyzer (the worker, the CLI, the bench, the corpus tests): the model
 * specialized to the dataset first, `fixedDims` added to the result.
 */
export async function runSpecialized<P extends ParamValues, R>(analyzer: Analyzer<P, R>, ctx: AnalyzerContext<P>): Promise<R> {
  const { model, fixedDims } = specializeToDataset(ctx.model, ctx.dataset);
  return withFixedDims(await analyzer.run({ ...ctx, model }), fixedDims);
}
