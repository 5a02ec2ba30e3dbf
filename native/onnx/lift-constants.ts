/**
 * Weights wherever exporters put them (DESIGN.md "Parameters"). Paddle2ONNX and some TF
 * converters write every weight as a `Constant` node instead of an initializer; quantizing
 * tools store int8 weights behind `DequantizeLinear`; some exporters leave a `Cast` of a stored
 * weight in the graph. Parameter selection reads initializers, so these are turned into
 * initializers first, each named as the graph names the tensor (the Constant's, the
 * DequantizeLinear's or the Cast's output), with the same values the node would compute.
 *
 * Identity / Reshape / Transpose of a weight need nothing here: the stored tensor itself feeds a
 * differentiable slot, so it is the parameter, under its own name.
 */
import type { Model, Node } from './ir.js';
import { attrInt } from './ir.js';
import { constantNodeValue } from './constants.js';
import { dtypeFromCode, isFloatDType, type DType } from './dtype.js';
import { numel, tensor, type Tensor } from './tensor.js';

/** What was lifted, for results and notes: how many tensors of each origin. */
export interface LiftedConstants {
  constants: number;
  dequantized: number;
  cast: number;
}

/** Dtypes whose typed arrays hold plain numbers (float16/bfloat16 are stored as raw bits). */
const NUMERIC: ReadonlySet<DType> = new Set(['float32', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64']);

/**
 * Rewrites `model` in place: Constant nodes become initializers, then DequantizeLinear and Cast
 * nodes whose inputs are all initializers are folded into one (float) initializer. Returns counts.
 */
export function liftConstantWeights(model: Model): LiftedConstants {
  const g = model.graph;
  const done: LiftedConstants = { constants: 0, dequantized: 0, cast: 0 };
  const kept: Node[] = [];
  for (const n of g.nodes) {
    const value = n.opType === 'Constant' && n.outputs[0] ? constantNodeValue(n) : undefined;
    const folded = value ?? foldDequantize(n, g.initializers) ?? foldCast(n, g.initializers);
    if (!folded) {
      kept.push(n);
      continue;
    }
    g.initializers.set(n.outputs[0]!, folded);
    if (value) done.constants++;
    else if (n.opType === 'DequantizeLinear') done.dequantized++;
    else done.cast++;
  }
  g.nodes = kept;
  return done;
}

/** y = (x - zero_point) * scale, per tensor or per `axis` (blocked quantization is left alone). */
function foldDequantize(n: Node, known: Map<string, Tensor>): Tensor | undefined {
  if (n.opType !== 'DequantizeLinear' || (n.domain !== '' && n.domain !== 'ai.onnx')) return undefined;
  const x = known.get(n.inputs[0] ?? '');
  const scale = known.get(n.inputs[1] ?? '');
  const zp = n.inputs[2] ? known.get(n.inputs[2]) : undefined;
  if (!x || !scale || (n.inputs[2] && !zp) || !NUMERIC.has(x.dtype) || !NUMERIC.has(scale.dtype)) return undefined;
  if ((attrInt(n, 'block_size') ?? 0) !== 0 || (zp && !NUMERIC.has(zp.dtype))) return undefined;
  const perAxis = scale.data.length > 1;
  const rank = x.dims.length;
  const axis = perAxis ? ((attrInt(n, 'axis', 1) % rank) + rank) % rank : 0;
  if (perAxis && x.dims[axis] !== scale.data.length) return undefined;
  const inner = perAxis ? numel(x.dims.slice(axis + 1)) : 1;
  const channels = perAxis ? scale.data.length : 1;
  const out = tensor(scale.dtype, [...x.dims]);
  for (let i = 0; i < out.data.length; i++) {
    const c = perAxis ? Math.floor(i / inner) % channels : 0;
    const z = zp ? Number(zp.data[zp.data.length > 1 ? c : 0]) : 0;
    out.data[i] = (Number(x.data[i]) - z) * Number(scale.data[c]);
  }
  return out;
}

/** Cast of a stored tensor to a float type: the converted tensor. */
function foldCast(n: Node, known: Map<string, Tensor>): Tensor | undefined {
  if (n.opType !== 'Cast' || (n.domain !== '' && n.domain !== 'ai.onnx')) return undefined;
  const x = known.get(n.inputs[0] ?? '');
  const to = attrInt(n, 'to');
  if (!x || to === undefined || !NUMERIC.has(x.dtype)) return undefined;
  let dtype: DType;
  try {
    dtype = dtypeFromCode(to);
  } catch {
    return undefined;
  }
  if (!isFloatDType(dtype) || !NUMERIC.has(dtype)) return undefined;
  return tensor(dtype, [...x.dims], Array.from(x.data as ArrayLike<number | bigint>, (v) => Number(v)));
}
