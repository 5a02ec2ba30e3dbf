/**
 * Lowers an ONNX graph (our IR, after opset upgrade) to a chain of layers on flat Float64
 * vectors, the form bound propagation works on:
 *   affine  y = W x + b  (W sparse, CSR): Gemm, MatMul, Conv, Add/Sub/Mul/Div by a constant,
 *           BatchNormalization (inference), Pad (constant), AveragePool, GlobalAveragePool,
 *           Transpose; Flatten/Reshape/Squeeze/Unsqueeze/Identity/Dropout only relabel the shape.
 *   relu, sigmoid, tanh (elementwise), maxpool (max over index windows; GlobalMaxPool too).
 * Only chains are handled: every op has one computed input (the previous op's output) and the
 * rest are constants. Residual adds of two computed tensors are refused with UNSUPPORTED_OP.
 * Weights are the model's float32 values widened exactly to float64.
 */
import { AppError, badModel } from '../../common/errors.js';
import { attrFloat, attrInt, attrInts, attrString, type Model, type Node } from '../../native/onnx/ir.js';
import { numel, type Tensor } from '../../native/onnx/tensor.js';

export interface AffineLayer {
  kind: 'affine';
  nIn: number;
  nOut: number;
  rowPtr: Int32Array;
  col: Int32Array;
  val: Float64Array;
  bias: Float64Array;
  op: string;
}

export interface ElementwiseLayer {
  kind: 'relu' | 'sigmoid' | 'tanh';
  n: number;
  op: string;
}

export interface MaxPoolLayer {
  kind: 'maxpool';
  nIn: number;
  nOut: number;
  /** Output o takes the max over idx[ptr[o] .. ptr[o+1]). */
  ptr: Int32Array;
  idx: Int32Array;
  op: string;
}

export type Layer = AffineLayer | ElementwiseLayer | MaxPoolLayer;

export interface Network {
  inputName: string;
  outputName: string;
  /** Input shape with the batch dimension fixed to 1. */
  inputShape: number[];
  outputShape: number[];
  layers: Layer[];
  numInputs: number;
  numOutputs: number;
}

/** Largest sparse layer (nonzeros) we build: 2e7 is ~240 MB of CSR. */
const MAX_NONZEROS = 2e7;

const SUPPORTED = new Set([
  'Gemm', 'MatMul', 'Conv', 'Add', 'Sub', 'Mul', 'Div', 'Relu', 'Sigmoid', 'Tanh', 'BatchNormalization', 'Flatten',
  'Reshape', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout', 'Pad', 'AveragePool', 'MaxPool', 'GlobalAveragePool',
  'GlobalMaxPool', 'Transpose', 'Constant',
]);

/** The ops of a model that bound propagation cannot lower (empty when all are fine). */
export function unsupportedForBounds(model: Model): string[] {
  return [...new Set(model.graph.nodes.filter((n) => !SUPPORTED.has(n.opType) || n.domain !== '').map((n) => n.opType))].sort();
}

const unsupported = (msg: string, ops?: string[]) => new AppError('UNSUPPORTED_OP', msg, ops ? { ops } : undefined);

/** Float64 copy of a constant tensor's values. */
function f64(t: Tensor): Float64Array {
  const out = new Float64Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(t.data[i]);
  return out;
}

const strides = (shape: number[]): number[] => {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
};

/** Builds a CSR affine layer from per-row (col, val) lists. */
class CsrBuilder {
  private ptr: number[] = [0];
  private cols: number[] = [];
  private vals: number[] = [];
  push(col: number, val: number): void {
    if (val === 0) return;
    if (this.cols.length >= MAX_NONZEROS) {
      throw unsupported(`a layer has more than ${MAX_NONZEROS} weights as a sparse matrix: too large for bound propagation`);
    }
    this.cols.push(col);
    this.vals.push(val);
  }
  endRow(): void {
    this.ptr.push(this.cols.length);
  }
  build(nIn: number, bias: Float64Array, op: string): AffineLayer {
    return {
      kind: 'affine',
      nIn,
      nOut: this.ptr.length - 1,
      rowPtr: Int32Array.from(this.ptr),
      col: Int32Array.from(this.cols),
      val: Float64Array.from(this.vals),
      bias,
      op,
    };
  }
}

/** Values of constant c broadcast (numpy rules) to shape, or null when the result shape is not `shape`. */
function broadcastTo(c: Tensor, shape: number[]): Float64Array | null {
  const cd = c.dims;
  if (cd.length > shape.length) {
    // Leading ones may be dropped.
    const extra = cd.slice(0, cd.length - shape.length);
    if (extra.some((d) => d !== 1)) return null;
  }
  const r = shape.length;
  const cdims = new Array<number>(r).fill(1);
  for (let i = 0; i < Math.min(cd.length, r); i++) cdims[r - 1 - i] = cd[cd.length - 1 - i]!;
  for (let i = 0; i < r; i++) if (cdims[i] !== 1 && cdims[i] !== shape[i]) return null;
  const vals = f64(c);
  const cs = strides(cdims);
  const n = numel(shape);
  const out = new Float64Array(n);
  const idx = new Array<number>(r).fill(0);
  for (let k = 0; k < n; k++) {
    let off = 0;
    for (let a = 0; a < r; a++) if (cdims[a] !== 1) off += idx[a]! * cs[a]!;
    out[k] = vals[off]!;
    for (let a = r - 1; a >= 0; a--) {
      if (++idx[a]! < shape[a]!) break;
      idx[a] = 0;
    }
  }
  return out;
}

function diagonal(scale: Float64Array | null, shift: Float64Array | null, n: number, op: string): AffineLayer {
  const b = new CsrBuilder();
  for (let i = 0; i < n; i++) {
    b.push(i, scale ? scale[i]! : 1);
    b.endRow();
  }
  return b.build(n, shift ?? new Float64Array(n), op);
}

interface PoolGeometry {
  outShape: number[];
  /** For each output position: list of input flat indices (in-bounds taps) and the full window size. */
  windows: (out: number) => { taps: number[]; size: number };
}

/** Window geometry of Conv/pooling over [1, C, spatial...] (auto_pad, pads, strides, dilations, ceil_mode). */
function windowGeometry(node: Node, inShape: number[], kernel: number[]): {
  outSpatial: number[];
  begin: number[];
  stride: number[];
  dil: number[];
} {
  const sp = inShape.slice(2);
  const r = sp.length;
  const stride = attrInts(node, 'strides') ?? new Array<number>(r).fill(1);
  const dil = attrInts(node, 'dilations') ?? new Array<number>(r).fill(1);
  let pads = attrInts(node, 'pads') ?? new Array<number>(2 * r).fill(0);
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const ceil = attrInt(node, 'ceil_mode', 0) === 1;
  const outSpatial: number[] = [];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = new Array<number>(2 * r).fill(0);
    for (let i = 0; i < r; i++) {
      const o = Math.ceil(sp[i]! / stride[i]!);
      const total = Math.max(0, (o - 1) * stride[i]! + (kernel[i]! - 1) * dil[i]! + 1 - sp[i]!);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + r] = total - pads[i]!;
    }
  } else if (autoPad === 'VALID') pads = new Array<number>(2 * r).fill(0);
  for (let i = 0; i < r; i++) {
    const span = sp[i]! + pads[i]! + pads[i + r]! - (kernel[i]! - 1) * dil[i]! - 1;
    let o = (ceil ? Math.ceil(span / stride[i]!) : Math.floor(span / stride[i]!)) + 1;
    // ceil_mode: the last window must start inside the (left-padded) input.
    if (ceil && (o - 1) * stride[i]! >= sp[i]! + pads[i]!) o--;
    outSpatial.push(o);
  }
  return { outSpatial, begin: pads.slice(0, r).map((p) => -p), stride, dil };
}

function poolGeometry(node: Node, inShape: number[], kernel: number[]): PoolGeometry {
  const { outSpatial, begin, stride, dil } = windowGeometry(node, inShape, kernel);
  const C = inShape[1]!;
  const sp = inShape.slice(2);
  const r = sp.length;
  const inStr = strides(sp);
  const outPer = numel(outSpatial);
  const outStr = strides(outSpatial);
  const pads = attrInts(node, 'pads') ?? new Array<number>(2 * r).fill(0);
  return {
    outShape: [1, C, ...outSpatial],
    windows: (o) => {
      const c = Math.floor(o / outPer);
      let rem = o % outPer;
      const pos: number[] = [];
      for (let i = 0; i < r; i++) {
        pos.push(Math.floor(rem / outStr[i]!));
        rem %= outStr[i]!;
      }
      const taps: number[] = [];
      let size = 0;
      const k = new Array<number>(r).fill(0);
      const kn = numel(kernel);
      for (let t = 0; t < kn; t++) {
        let off = c * numel(sp);
        let inside = true;
        let inPadded = true;
        for (let i = 0; i < r; i++) {
          const x = begin[i]! + pos[i]! * stride[i]! + k[i]! * dil[i]!;
          if (x < 0 || x >= sp[i]!) inside = false;
          if (x < -pads[i]! || x >= sp[i]! + pads[i + r]!) inPadded = false;
          off += x * inStr[i]!;
        }
        if (inside) taps.push(off);
        if (inPadded) size++;
        for (let i = r - 1; i >= 0; i--) {
          if (++k[i]! < kernel[i]!) break;
          k[i] = 0;
        }
      }
      return { taps, size };
    },
  };
}

/** Reshape/Flatten/Identity of a constant: the same values under new dims; null for other ops. */
function foldConstant(node: Node, consts: Map<string, Tensor>): Tensor | null {
  const t = consts.get(node.inputs[0]!);
  if (!t) return null;
  const n = numel(t.dims);
  if (node.opType === 'Identity') return t;
  if (node.opType === 'Flatten') {
    let axis = attrInt(node, 'axis', 1);
    if (axis < 0) axis += t.dims.length;
    return { ...t, dims: [numel(t.dims.slice(0, axis)), numel(t.dims.slice(axis))] };
  }
  if (node.opType === 'Reshape') {
    const shapeT = consts.get(node.inputs[1]!);
    if (!shapeT) return null;
    const target = Array.from(shapeT.data as ArrayLike<number | bigint>, Number);
    const dims = target.map((d, i) => (d === 0 && attrInt(node, 'allowzero', 0) !== 1 ? t.dims[i]! : d));
    const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const out = dims.map((d) => (d === -1 ? n / known : d));
    return numel(out) === n ? { ...t, dims: out } : null;
  }
  return null;
}

/**
 * The model without a trailing Softmax/LogSoftmax over the class axis, or null when it has none.
 * Both are strictly increasing in each logit's lead over the others, so argmax (and which class
 * beats which) is the same on the logits: robustness can be proved there.
 */
export function stripSoftmax(model: Model): Model | null {
  const g = model.graph;
  const last = g.nodes[g.nodes.length - 1];
  if (!last || (last.opType !== 'Softmax' && last.opType !== 'LogSoftmax') || g.outputs.length !== 1 || g.outputs[0]!.name !== last.outputs[0]) return null;
  const axis = attrInt(last, 'axis', -1);
  const rank = g.outputs[0]!.shape?.length ?? 2;
  if (!(axis === -1 || axis === rank - 1 || (rank === 2 && axis === 1))) return null;
  return {
    ...model,
    graph: { ...g, nodes: g.nodes.slice(0, -1), outputs: [{ name: last.inputs[0]!, dtype: g.outputs[0]!.dtype, shape: g.outputs[0]!.shape }] },
  };
}

export function lowerNetwork(model: Model): Network {
  const g = model.graph;
  const bad = unsupportedForBounds(model);
  if (bad.length > 0) throw unsupported(`bound propagation has no rule for: ${bad.join(', ')}`, bad);
  if (g.inputs.length !== 1) throw unsupported(`bound propagation needs a model with one input, this one has ${g.inputs.length}`);
  if (g.outputs.length < 1) throw badModel('the model has no outputs');
  const input = g.inputs[0]!;
  if (!input.shape) throw badModel(`input ${input.name} has no shape`);
  const inputShape = input.shape.map((d, i) => (typeof d === 'number' ? d : i === 0 ? 1 : NaN));
  if (inputShape.some((d) => !Number.isInteger(d) || d <= 0)) throw badModel(`input ${input.name} needs fixed dimensions (apart from the batch), has [${input.shape}]`);
  if (inputShape[0] !== 1 && inputShape.length > 1) throw unsupported(`input ${input.name} has batch size ${inputShape[0]}; verification runs one sample`);
  const consts = new Map<string, Tensor>(g.initializers);
  const layers: Layer[] = [];
  let current = input.name;
  let shape = inputShape;

  const constOf = (name: string): Tensor | undefined => consts.get(name);
  for (const node of g.nodes) {
    if (node.opType === 'Constant') {
      const v = node.attrs.value;
      if (!v || v.kind !== 'tensor') throw unsupported('Constant without a tensor value');
      consts.set(node.outputs[0]!, v.value);
      continue;
    }
    const computed = node.inputs.filter((n) => n !== '' && !consts.has(n));
    if (computed.length === 0) {
      // Exporters reshape weights in the graph (CNTK's mnist.onnx): fold those.
      const folded = foldConstant(node, consts);
      if (!folded) throw unsupported(`${node.opType} "${node.name}" computes a constant; fold constants before verifying`);
      consts.set(node.outputs[0]!, folded);
      continue;
    }
    if (computed.length > 1 || computed[0] !== current) {
      throw unsupported(`bound propagation handles chains of layers; ${node.opType} "${node.name}" reads ${computed.join(', ')}`);
    }
    const n = numel(shape);
    const op = `${node.opType} ${node.name}`;
    let next = shape;
    switch (node.opType) {
      case 'Identity':
      case 'Dropout':
        break;
      case 'Flatten': {
        let axis = attrInt(node, 'axis', 1);
        if (axis < 0) axis += shape.length;
        next = [numel(shape.slice(0, axis)), numel(shape.slice(axis))];
        break;
      }
      case 'Reshape': {
        const t = constOf(node.inputs[1]!);
        if (!t) throw unsupported(`Reshape "${node.name}" needs a constant shape`);
        const target = Array.from(t.data as ArrayLike<number | bigint>, Number);
        const allowZero = attrInt(node, 'allowzero', 0) === 1;
        const dims = target.map((d, i) => (d === 0 && !allowZero ? shape[i]! : d));
        const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
        next = dims.map((d) => (d === -1 ? n / known : d));
        if (numel(next) !== n) throw badModel(`Reshape "${node.name}" to [${target}] does not fit [${shape}]`);
        break;
      }
      case 'Squeeze':
      case 'Unsqueeze': {
        const axesT = node.inputs[1] ? constOf(node.inputs[1]) : undefined;
        let axes = axesT ? Array.from(axesT.data as ArrayLike<number | bigint>, Number) : attrInts(node, 'axes');
        if (node.opType === 'Squeeze') {
          axes = (axes ?? shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)).map((a) => (a < 0 ? a + shape.length : a));
          next = shape.filter((_, i) => !axes!.includes(i));
        } else {
          const r = shape.length + (axes?.length ?? 0);
          const norm = (axes ?? []).map((a) => (a < 0 ? a + r : a));
          next = [];
          let k = 0;
          for (let i = 0; i < r; i++) next.push(norm.includes(i) ? 1 : shape[k++]!);
        }
        break;
      }
      case 'Transpose': {
        const perm = attrInts(node, 'perm') ?? shape.map((_, i) => shape.length - 1 - i);
        next = perm.map((p) => shape[p]!);
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
        layers.push(b.build(n, new Float64Array(n), op));
        break;
      }
      case 'Relu':
      case 'Sigmoid':
      case 'Tanh':
        layers.push({ kind: node.opType.toLowerCase() as 'relu' | 'sigmoid' | 'tanh', n, op });
        break;
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div': {
        const cName = node.inputs[0] === current ? node.inputs[1]! : node.inputs[0]!;
        const varFirst = node.inputs[0] === current;
        const c = broadcastTo(constOf(cName)!, shape);
        if (!c) throw unsupported(`${node.opType} "${node.name}": the constant operand changes the shape [${shape}]`);
        if (node.opType === 'Add') layers.push(diagonal(null, c, n, op));
        else if (node.opType === 'Sub') {
          if (varFirst) layers.push(diagonal(null, c.map((v) => -v), n, op));
          else layers.push(diagonal(new Float64Array(n).fill(-1), c, n, op));
        } else if (node.opType === 'Mul') layers.push(diagonal(c, null, n, op));
        else {
          if (!varFirst) throw unsupported(`Div "${node.name}" divides by a computed tensor`);
          layers.push(diagonal(c.map((v) => 1 / v), null, n, op));
        }
        break;
      }
      case 'BatchNormalization': {
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
        layers.push(diagonal(s, t, n, op));
        break;
      }
      case 'Gemm':
      case 'MatMul': {
        if (node.inputs[0] !== current) throw unsupported(`${node.opType} "${node.name}": the computed tensor must be the left operand`);
        const Wt = constOf(node.inputs[1]!)!;
        const W = f64(Wt);
        let K: number;
        let N: number;
        let wAt: (k: number, j: number) => number;
        let rows: number;
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
        layers.push(b.build(n, bias, op));
        break;
      }
      case 'Conv': {
        const Wt = constOf(node.inputs[1]!);
        if (!Wt) throw unsupported(`Conv "${node.name}" needs constant weights`);
        const W = f64(Wt);
        const M = Wt.dims[0]!;
        const cPerG = Wt.dims[1]!;
        const kernel = Wt.dims.slice(2);
        const group = attrInt(node, 'group', 1);
        const C = shape[1]!;
        if (cPerG * group !== C) throw badModel(`Conv "${node.name}": weight [${Wt.dims}] with group ${group} does not fit input [${shape}]`);
        const { outSpatial, begin, stride, dil } = windowGeometry(node, shape, kernel);
        const sp = shape.slice(2);
        const r = sp.length;
        const inStr = strides(sp);
        const outPer = numel(outSpatial);
        const outStr = strides(outSpatial);
        const kn = numel(kernel);
        const kStr = strides(kernel);
        const biasT = node.inputs[2] ? f64(constOf(node.inputs[2])!) : null;
        const bias = new Float64Array(M * outPer);
        const b = new CsrBuilder();
        const mPerG = M / group;
        for (let m = 0; m < M; m++) {
          const g0 = Math.floor(m / mPerG);
          for (let o = 0; o < outPer; o++) {
            bias[m * outPer + o] = biasT ? biasT[m]! : 0;
            for (let cc = 0; cc < cPerG; cc++) {
              const c = g0 * cPerG + cc;
              for (let t = 0; t < kn; t++) {
                let off = c * numel(sp);
                let inside = true;
                for (let i = 0; i < r; i++) {
                  const ki = Math.floor(t / kStr[i]!) % kernel[i]!;
                  const oi = Math.floor(o / outStr[i]!) % outSpatial[i]!;
                  const x = begin[i]! + oi * stride[i]! + ki * dil[i]!;
                  if (x < 0 || x >= sp[i]!) inside = false;
                  off += x * inStr[i]!;
                }
                if (inside) b.push(off, W[(m * cPerG + cc) * kn + t]!);
              }
            }
            b.endRow();
          }
        }
        layers.push(b.build(n, bias, op));
        next = [1, M, ...outSpatial];
        break;
      }
      case 'Pad': {
        const mode = attrString(node, 'mode', 'constant');
        if (mode !== 'constant') throw unsupported(`Pad "${node.name}" mode ${mode}: only constant padding is supported`);
        const padsT = node.inputs[1] ? constOf(node.inputs[1]) : undefined;
        const pads = padsT ? Array.from(padsT.data as ArrayLike<number | bigint>, Number) : (attrInts(node, 'pads') ?? []);
        const valueT = node.inputs[2] ? constOf(node.inputs[2]) : undefined;
        const value = valueT ? Number(valueT.data[0]) : attrFloat(node, 'value', 0);
        const r = shape.length;
        if (pads.every((p) => p === 0)) break;
        if (pads.some((p) => p < 0)) throw unsupported(`Pad "${node.name}" with negative pads`);
        next = shape.map((d, i) => d + pads[i]! + pads[i + r]!);
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
        layers.push(b.build(n, bias, op));
        break;
      }
      case 'AveragePool':
      case 'GlobalAveragePool': {
        const kernel = node.opType === 'GlobalAveragePool' ? shape.slice(2) : attrInts(node, 'kernel_shape')!;
        const geo = node.opType === 'GlobalAveragePool' ? poolGeometry({ ...node, attrs: {} }, shape, kernel) : poolGeometry(node, shape, kernel);
        const includePad = attrInt(node, 'count_include_pad', 0) === 1;
        const m = numel(geo.outShape);
        const b = new CsrBuilder();
        for (let o = 0; o < m; o++) {
          const { taps, size } = geo.windows(o);
          const div = includePad ? size : taps.length;
          for (const t of taps) b.push(t, 1 / div);
          b.endRow();
        }
        layers.push(b.build(n, new Float64Array(m), op));
        next = geo.outShape;
        break;
      }
      case 'MaxPool':
      case 'GlobalMaxPool': {
        if (node.outputs.length > 1 && node.outputs[1] !== '') throw unsupported(`MaxPool "${node.name}" with an Indices output`);
        const kernel = node.opType === 'GlobalMaxPool' ? shape.slice(2) : attrInts(node, 'kernel_shape')!;
        const geo = node.opType === 'GlobalMaxPool' ? poolGeometry({ ...node, attrs: {} }, shape, kernel) : poolGeometry(node, shape, kernel);
        const m = numel(geo.outShape);
        const ptr = new Int32Array(m + 1);
        const idx: number[] = [];
        for (let o = 0; o < m; o++) {
          const { taps } = geo.windows(o);
          if (taps.length === 0) throw unsupported(`MaxPool "${node.name}" has a window entirely in the padding`);
          idx.push(...taps);
          ptr[o + 1] = idx.length;
        }
        layers.push({ kind: 'maxpool', nIn: n, nOut: m, ptr, idx: Int32Array.from(idx), op });
        next = geo.outShape;
        break;
      }
      default:
        throw unsupported(`bound propagation has no rule for ${node.opType}`, [node.opType]);
    }
    shape = next;
    current = node.outputs[0]!;
  }
  const out = g.outputs.find((o) => o.name === current);
  if (!out) throw unsupported(`bound propagation needs the chain to end at the model output; it ends at ${current}`);
  return {
    inputName: input.name,
    outputName: current,
    inputShape,
    outputShape: shape,
    layers,
    numInputs: numel(inputShape),
    numOutputs: numel(shape),
  };
}

/** Exact-in-float64 forward pass of the lowered chain (for the search and for tests). */
export function forward(net: Network, x: ArrayLike<number>): Float64Array {
  let v: Float64Array = Float64Array.from(x);
  for (const L of net.layers) v = applyLayer(L, v);
  return v;
}

export function applyLayer(L: Layer, v: Float64Array): Float64Array {
  switch (L.kind) {
    case 'affine': {
      const out = new Float64Array(L.nOut);
      for (let r = 0; r < L.nOut; r++) {
        let s = L.bias[r]!;
        for (let p = L.rowPtr[r]!; p < L.rowPtr[r + 1]!; p++) s += L.val[p]! * v[L.col[p]!]!;
        out[r] = s;
      }
      return out;
    }
    case 'relu':
      return v.map((z) => (z > 0 ? z : 0));
    case 'sigmoid':
      return v.map((z) => 1 / (1 + Math.exp(-z)));
    case 'tanh':
      return v.map((z) => Math.tanh(z));
    case 'maxpool': {
      const out = new Float64Array(L.nOut);
      for (let o = 0; o < L.nOut; o++) {
        let m = -Infinity;
        for (let p = L.ptr[o]!; p < L.ptr[o + 1]!; p++) m = Math.max(m, v[L.idx[p]!]!);
        out[o] = m;
      }
      return out;
    }
  }
}
