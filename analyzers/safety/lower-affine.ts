/**
 * Lowerings to one affine layer: Gemm, MatMul (constant right operand), Add/Sub/Mul/Div by a
 * constant, BatchNormalization (inference), Transpose, Pad (constant).
 */
import { badModel } from '../../common/errors.js';
import { attrFloat, attrInt, attrInts, attrString } from '../../native/onnx/ir.js';
import { numel } from '../../native/onnx/tensor.js';
import { broadcastTo, CsrBuilder, diagonal, f64, intsOf, strides, unsupported, type Lowering } from './lowering.js';

const transpose: Lowering = ({ node, shape, n, op, push }) => {
  const perm = attrInts(node, 'perm') ?? shape.map((_, i) => shape.length - 1 - i);
  const next = perm.map((p) => shape[p]!);
  const inStr = strides(shape);
  const outStr = strides(next);
  const b = new CsrBuilder();
  for (let o = 0; o < n; o++) {
    let rem = o;
    let src = 0;
    for (let a = 0; a < next.length; a++) {
      const i = Math.floor(rem / outStr[a]!);
      rem %= outStr[a]!;
      src += i * inStr[perm[a]!]!;
    }
    b.push(src, 1);
    b.endRow();
  }
  push(b.build(n, new Float64Array(n), op));
  return next;
};

/** Add/Sub/Mul/Div with one constant operand (broadcast to the computed one's shape). */
const arithmetic: Lowering = ({ node, shape, n, op, current, constOf, push }) => {
  const varFirst = node.inputs[0] === current;
  const cName = varFirst ? node.inputs[1]! : node.inputs[0]!;
  const c = broadcastTo(constOf(cName)!, shape);
  if (!c) throw unsupported(`${node.opType} "${node.name}": the constant operand changes the shape [${shape}]`);
  switch (node.opType) {
    case 'Add':
      push(diagonal(null, c, n, op));
      break;
    case 'Sub':
      push(varFirst ? diagonal(null, c.map((v) => -v), n, op) : diagonal(new Float64Array(n).fill(-1), c, n, op));
      break;
    case 'Mul':
      push(diagonal(c, null, n, op));
      break;
    default:
      if (!varFirst) throw unsupported(`Div "${node.name}" divides by a computed tensor`);
      push(diagonal(c.map((v) => 1 / v), null, n, op));
  }
  return shape;
};

const batchNorm: Lowering = ({ node, shape, n, op, constOf, push }) => {
  const [scale, bias, mean, variance] = node.inputs.slice(1).map((x) => f64(constOf(x)!));
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const C = shape[1]!;
  const per = n / C;
  const s = new Float64Array(n);
  const t = new Float64Array(n);
  for (let c = 0; c < C; c++) {
    const k = scale![c]! / Math.sqrt(variance![c]! + eps);
    for (let i = 0; i < per; i++) {
      s[c * per + i] = k;
      t[c * per + i] = bias![c]! - k * mean![c]!;
    }
  }
  push(diagonal(s, t, n, op));
  return shape;
};

/** Gemm (one row, transB, alpha, beta, bias) and MatMul by a constant 2-D right operand. */
const matmul: Lowering = ({ node, shape, n, op, current, constOf, push }) => {
  if (node.inputs[0] !== current) throw unsupported(`${node.opType} "${node.name}": the computed tensor must be the left operand`);
  const Wt = constOf(node.inputs[1]!)!;
  const W = f64(Wt);
  let K: number;
  let N: number;
  let wAt: (k: number, j: number) => number;
  let rows: number;
  let next: number[];
  let alpha = 1;
  let beta = 1;
  if (node.opType === 'Gemm') {
    if (attrInt(node, 'transA', 0) !== 0 && numel(shape) !== shape[shape.length - 1]!) throw unsupported(`Gemm "${node.name}" with transA`);
    const transB = attrInt(node, 'transB', 0) === 1;
    alpha = attrFloat(node, 'alpha', 1);
    beta = attrFloat(node, 'beta', 1);
    K = transB ? Wt.dims[1]! : Wt.dims[0]!;
    N = transB ? Wt.dims[0]! : Wt.dims[1]!;
    wAt = transB ? (k, j) => W[j * K + k]! : (k, j) => W[k * N + j]!;
    rows = n / K;
    if (rows !== 1) throw unsupported(`Gemm "${node.name}" expects one row per sample, input is [${shape}]`);
    next = [1, N];
  } else {
    if (Wt.dims.length !== 2) throw unsupported(`MatMul "${node.name}" needs a 2-D constant right operand`);
    K = Wt.dims[0]!;
    N = Wt.dims[1]!;
    wAt = (k, j) => W[k * N + j]!;
    if (shape[shape.length - 1] !== K) throw badModel(`MatMul "${node.name}": [${shape}] x [${Wt.dims}]`);
    rows = n / K;
    next = [...shape.slice(0, -1), N];
  }
  const bias = new Float64Array(rows * N);
  if (node.opType === 'Gemm' && node.inputs[2]) {
    const c = broadcastTo(constOf(node.inputs[2])!, [1, N]);
    if (!c) throw unsupported(`Gemm "${node.name}": bias does not broadcast to [1, ${N}]`);
    for (let j = 0; j < N; j++) bias[j] = beta * c[j]!;
  }
  const b = new CsrBuilder();
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < N; j++) {
      for (let k = 0; k < K; k++) b.push(r * K + k, alpha * wAt(k, j));
      b.endRow();
    }
  }
  push(b.build(n, bias, op));
  return next;
};

const pad: Lowering = ({ node, shape, n, op, constOf, push }) => {
  const mode = attrString(node, 'mode', 'constant');
  if (mode !== 'constant') throw unsupported(`Pad "${node.name}" mode ${mode}: only constant padding is supported`);
  const padsT = node.inputs[1] ? constOf(node.inputs[1]) : undefined;
  const pads = padsT ? intsOf(padsT) : (attrInts(node, 'pads') ?? []);
  const valueT = node.inputs[2] ? constOf(node.inputs[2]) : undefined;
  const value = valueT ? Number(valueT.data[0]) : attrFloat(node, 'value', 0);
  const r = shape.length;
  if (pads.every((p) => p === 0)) return shape;
  if (pads.some((p) => p < 0)) throw unsupported(`Pad "${node.name}" with negative pads`);
  const next = shape.map((d, i) => d + pads[i]! + pads[i + r]!);
  const outStr = strides(next);
  const inStr = strides(shape);
  const m = numel(next);
  const bias = new Float64Array(m);
  const b = new CsrBuilder();
  for (let o = 0; o < m; o++) {
    let rem = o;
    let src = 0;
    let inside = true;
    for (let a = 0; a < r; a++) {
      const i = Math.floor(rem / outStr[a]!) - pads[a]!;
      rem %= outStr[a]!;
      if (i < 0 || i >= shape[a]!) inside = false;
      src += i * inStr[a]!;
    }
    if (inside) b.push(src, 1);
    else bias[o] = value;
    b.endRow();
  }
  push(b.build(n, bias, op));
  return next;
};

export const affineLowerings: Record<string, Lowering> = {
  Gemm: matmul,
  MatMul: matmul,
  Add: arithmetic,
  Sub: arithmetic,
  Mul: arithmetic,
  Div: arithmetic,
  BatchNormalization: batchNorm,
  Transpose: transpose,
  Pad: pad,
};
