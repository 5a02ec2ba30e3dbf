/** The facts about a model that the API reports, computed once from the parsed IR at upload. */
import type { Model, ValueInfo } from '../native/onnx/ir.js';
import { isFloatDType } from '../native/onnx/dtype.js';
import { numel } from '../native/onnx/tensor.js';
import { unsupportedOps } from '../native/autodiff/registry.js';
import '../native/autodiff/rules/index.js'; // registers the rules unsupportedOps consults
import type { ModelSummary, TensorSummary } from '../storage/records.js';

const tensorSummary = (v: ValueInfo): TensorSummary => ({ name: v.name, dtype: v.dtype, shape: v.shape ? [...v.shape] : null });

export function summarizeModel(model: Model): ModelSummary {
  const g = model.graph;
  const histogram = new Map<string, number>();
  for (const n of g.nodes) {
    const op = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
    histogram.set(op, (histogram.get(op) ?? 0) + 1);
  }
  // Floating-point initializers: the trainable tensors of an exported model. (Analyzers narrow
  // this further, e.g. dropping BatchNormalization statistics; this is the headline count.)
  let parameterCount = 0;
  for (const t of g.initializers.values()) if (isFloatDType(t.dtype)) parameterCount += numel(t.dims);
  const missing = unsupportedOps(model);
  return {
    opsetImports: [...model.opsets].map(([domain, version]) => ({ domain, version })),
    producer: { name: model.producerName, version: model.producerVersion },
    irVersion: model.irVersion,
    inputs: g.inputs.map(tensorSummary),
    outputs: g.outputs.map(tensorSummary),
    parameterCount,
    opHistogram: [...histogram].map(([opType, count]) => ({ opType, count })).sort((a, b) => b.count - a.count || a.opType.localeCompare(b.opType)),
    autodiffSupported: missing.length === 0,
    unsupportedOps: missing,
  };
}
