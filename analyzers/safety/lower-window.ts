/**
 * Lowerings of the windowed ops over [1, C, spatial...]: Conv (pads/strides/dilations/groups/
 * auto_pad) and AveragePool/GlobalAveragePool (count_include_pad, ceil_mode) to one affine layer,
 * MaxPool/GlobalMaxPool to a maxpool layer.
 */
import { badModel } from '../../common/errors.js';
import { attrInt, attrInts, attrString, type Node } from '../../native/onnx/ir.js';
import { numel } from '../../native/onnx/tensor.js';
import { CsrBuilder, f64, strides, unsupported, type Lowering } from './lowering.js';

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

const conv: Lowering = ({ node, shape, n, op, constOf, push }) => {
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
  push(b.build(n, bias, op));
  return [1, M, ...outSpatial];
};

/** The pool's geometry; the global pools are a window over all of the spatial dims, no attributes. */
function geometryOf(node: Node, shape: number[]): PoolGeometry {
  const global = node.opType.startsWith('Global');
  const kernel = global ? shape.slice(2) : attrInts(node, 'kernel_shape')!;
  return poolGeometry(global ? { ...node, attrs: {} } : node, shape, kernel);
}

const averagePool: Lowering = ({ node, shape, n, op, push }) => {
  const geo = geometryOf(node, shape);
  const includePad = attrInt(node, 'count_include_pad', 0) === 1;
  const m = numel(geo.outShape);
  const b = new CsrBuilder();
  for (let o = 0; o < m; o++) {
    const { taps, size } = geo.windows(o);
    const div = includePad ? size : taps.length;
    for (const t of taps) b.push(t, 1 / div);
    b.endRow();
  }
  push(b.build(n, new Float64Array(m), op));
  return geo.outShape;
};

const maxPool: Lowering = ({ node, shape, n, op, push }) => {
  if (node.outputs.length > 1 && node.outputs[1] !== '') throw unsupported(`MaxPool "${node.name}" with an Indices output`);
  const geo = geometryOf(node, shape);
  const m = numel(geo.outShape);
  const ptr = new Int32Array(m + 1);
  const idx: number[] = [];
  for (let o = 0; o < m; o++) {
    const { taps } = geo.windows(o);
    if (taps.length === 0) throw unsupported(`MaxPool "${node.name}" has a window entirely in the padding`);
    idx.push(...taps);
    ptr[o + 1] = idx.length;
  }
  push({ kind: 'maxpool', nIn: n, nOut: m, ptr, idx: Int32Array.from(idx), op });
  return geo.outShape;
};

export const windowLowerings: Record<string, Lowering> = {
  Conv: conv,
  AveragePool: averagePool,
  GlobalAveragePool: averagePool,
  MaxPool: maxPool,
  GlobalMaxPool: maxPool,
};
