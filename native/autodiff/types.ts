import type { GraphBuilder } from '../onnx/builder.js';
import type { Node } from '../onnx/ir.js';
import type { Tensor } from '../onnx/tensor.js';
import type { DType } from '../onnx/dtype.js';

/** What shape probing learned about a tensor: dims are sizes, or null where they follow the batch. */
export interface TensorInfo {
  dtype: DType;
  dims: (number | null)[];
}

/** Handed to every rule: the node being differentiated, the builder, and facts about tensors. */
export interface RuleContext {
  readonly b: GraphBuilder;
  readonly node: Node;
  /** The model's ai.onnx opset after upgrade (>= 18). */
  readonly opset: number;
  /** dtype and dims of any tensor of the forward graph (and, for JVP rules, of the gradient graph). */
  info(name: string): TensorInfo;
  /** The value of a tensor when it is a constant (an initializer that is not a differentiated parameter). */
  constantValue(name: string): Tensor | undefined;
}

/**
 * One rule per op (or per family of ops sharing a formula).
 * - vjp: output cotangents (null = zero) -> input cotangents (null = zero or not differentiable).
 *   Each returned cotangent has exactly the shape of its input (undo broadcasting with unbroadcast()).
 * - jvp: input tangents (null = zero) -> output tangents (null = zero).
 * Ops that are not differentiable (Shape, Equal, ArgMax...) omit both: they are still
 * "supported" because their outputs carry no gradient.
 */
export interface OpRule {
  readonly ops: readonly string[];
  vjp?(ctx: RuleContext, dy: (string | null)[]): (string | null)[];
  jvp?(ctx: RuleContext, dx: (string | null)[]): (string | null)[];
}
