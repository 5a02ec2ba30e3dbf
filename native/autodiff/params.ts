/**
 * Which initializers are "parameters" (DESIGN.md): floating-point tensors that feed a
 * differentiable input slot. Excluded: BatchNormalization running statistics, rank-0
 * constants, exponents, clip bounds, and anything in a shape/index/axes slot.
 */
import { isFloatDType } from '../onnx/dtype.js';
import { cloneModel, type Model } from '../onnx/ir.js';
import type { Tensor } from '../onnx/tensor.js';
import { badParams } from '../../common/errors.js';

/** Input slots that are never differentiated, per op type. */
export const CONSTANT_SLOTS: Record<string, number[]> = {
  BatchNormalization: [3, 4],
  Pow: [1],
  Clip: [1, 2],
  Reshape: [1],
  Expand: [1],
  Tile: [1],
  Slice: [1, 2, 3, 4],
  Pad: [1, 2, 3],
  Gather: [1],
  GatherElements: [1],
  GatherND: [1],
  ScatterElements: [1],
  ScatterND: [1],
  Resize: [1, 2, 3],
  Upsample: [1],
  Squeeze: [1],
  Unsqueeze: [1],
  Split: [1],
  ReduceSum: [1],
  ReduceMean: [1],
  ReduceMax: [1],
  ReduceMin: [1],
  ReduceL2: [1],
  ReduceSumSquare: [1],
  ReduceLogSumExp: [1],
  ReduceProd: [1],
  Where: [0],
  ConstantOfShape: [0],
  TopK: [1],
  Compress: [1],
  OneHot: [0, 1],
  Range: [0, 1, 2],
  Dropout: [1, 2],
};

export interface ParameterFilter {
  /** Exact tensor names to use. */
  names?: string[];
  /** A regular expression the tensor name must match. */
  pattern?: string;
}

export function selectParameters(model: Model, filter: ParameterFilter = {}): string[] {
  const g = model.graph;
  const differentiable = new Set<string>();
  for (const n of g.nodes) {
    const constant = CONSTANT_SLOTS[n.opType] ?? [];
    n.inputs.forEach((name, slot) => {
      if (name && !constant.includes(slot)) differentiable.add(name);
    });
  }
  let names = [...g.initializers]
    .filter(([name, t]) => differentiable.has(name) && isFloatDType(t.dtype) && t.dims.length > 0 && t.data.length > 0)
    .map(([name]) => name);
  if (filter.names && filter.names.length > 0) {
    const unknown = filter.names.filter((n) => !names.includes(n));
    if (unknown.length > 0) {
      throw badParams(`not parameters of this model: ${unknown.join(', ')}; parameters are: ${names.join(', ')}`);
    }
    names = names.filter((n) => filter.names!.includes(n));
  }
  if (filter.pattern) {
    let re: RegExp;
    try {
      re = new RegExp(filter.pattern);
    } catch (err) {
      throw badParams(`parameter pattern is not a valid regular expression: ${(err as Error).message}`);
    }
    names = names.filter((n) => re.test(n));
  }
  if (names.length === 0) throw badParams('no parameters selected');
  return names;
}

export const parameterCount = (model: Model, names: string[]): number =>
  names.reduce((s, n) => s + (model.graph.initializers.get(n)?.data.length ?? 0), 0);

/**
 * Moves the named initializers to graph inputs, so a perturbed weight vector can be fed
 * without building a new session. Returns the new model and the current values.
 */
export function liftParameters(source: Model, names: string[]): { model: Model; values: Map<string, Tensor> } {
  const model = cloneModel(source);
  const values = new Map<string, Tensor>();
  for (const name of names) {
    const t = model.graph.initializers.get(name);
    if (!t) throw new Error(`liftParameters: no initializer ${name}`);
    values.set(name, t);
    model.graph.initializers.delete(name);
    model.graph.inputs.push({ name, dtype: t.dtype, shape: [...t.dims] });
  }
  return { model, values };
}
