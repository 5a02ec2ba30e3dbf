/**
 * Test models for linear (data-movement) ops: z = op(inputs), y_k = z_k * z_k. A linear op alone
 * has a zero Hessian, which would make HVP checks vacuous; squaring its outputs makes
 * H v = VJP_op(2 u * JVP_op(v)), which exercises the op's JVP and the JVPs of the ops its VJP emits.
 */
import { buildModel, type InputSpec } from './onnx-builder.js';
import type { Attr, Model } from '../../native/onnx/ir.js';
import type { Tensor } from '../../native/onnx/tensor.js';

export function squaredOp(
  op: string,
  inputs: InputSpec[],
  attrs: Record<string, Attr> = {},
  opts: { initializers?: Record<string, Tensor>; outputCount?: number; opset?: number; order?: string[] } = {},
): Model {
  const n = opts.outputCount ?? 1;
  const zs = Array.from({ length: n }, (_, i) => `z${i}`);
  const ys = zs.map((_, i) => `y${i}`);
  const names = opts.order ?? [...inputs.map((i) => i.name), ...Object.keys(opts.initializers ?? {})];
  return buildModel({
    opset: opts.opset ?? 18,
    inputs,
    initializers: opts.initializers,
    nodes: [{ op, inputs: names, outputs: zs, attrs }, ...zs.map((z, i) => ({ op: 'Mul', inputs: [z, z], outputs: [ys[i]!] }))],
    outputs: ys,
  });
}
