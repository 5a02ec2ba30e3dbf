/**
 * Random directions in parameter space with filter-wise normalization (Li et al. 2018,
 * "Visualizing the Loss Landscape of Neural Nets", Sec. 4): a Gaussian direction d is rescaled
 * filter by filter, d_f <- d_f / ||d_f|| * ||w_f||, so that a step of 1 along d changes every
 * filter by as much as its own norm. Without it, scale-invariant networks (ReLU, batch norm) give
 * surfaces whose sharpness says nothing. Biases and normalization parameters (rank <= 1) get 0
 * by default, as in the paper's code ('biasbn' ignored); otherwise they copy the weights.
 */
import type { Model } from '../../native/onnx/ir.js';
import { attrInt } from '../../native/onnx/ir.js';
import { Rng } from '../../common/random.js';

export type Normalization = 'filter' | 'layer' | 'none';

/** The flat-vector layout of the parameters (LossRunner order) and which axis indexes a filter. */
export interface ParamLayout {
  names: string[];
  offsets: number[];
  shapes: number[][];
  /**
   * The axis whose slices are the filters/neurons: 0 for Conv weights [out, in, kh, kw] and
   * transposed Gemm weights; 1 for MatMul weights [in, out] (a neuron is a column); null for
   * rank <= 1 tensors (biases, normalization scales).
   */
  filterAxis: Array<0 | 1 | null>;
}

/** Which axis of `param` holds the output units, from the node that consumes it. */
export function filterAxisOf(model: Model, param: string, rank: number): 0 | 1 | null {
  if (rank <= 1) return null;
  // Follow pass-through nodes (Cast from float widening, Identity) to the real consumer.
  let name = param;
  for (let hop = 0; hop < 4; hop++) {
    const consumer = model.graph.nodes.find((n) => n.inputs.includes(name));
    if (!consumer) return 0;
    const slot = consumer.inputs.indexOf(name);
    switch (consumer.opType) {
      case 'Cast':
      case 'Identity':
        name = consumer.outputs[0]!;
        continue;
      case 'MatMul':
        // y = x W: W [.., in, out], a neuron is a column. y = W x: rows.
        return slot === 1 ? 1 : 0;
      case 'Gemm': {
        const trans = attrInt(consumer, slot === 1 ? 'transB' : 'transA', 0);
        // B [in, out] unless transB; A is [M, K]: its rows are the outputs unless transA.
        if (slot === 1) return trans ? 0 : 1;
        return trans ? 1 : 0;
      }
      case 'ConvTranspose':
        return 1; // weight [in, out/group, kh, kw]
      default:
        return 0; // Conv [out, in, ...] and anything else: PyTorch's convention, d[0] per filter.
    }
  }
  return 0;
}

export function layoutOf(model: Model, names: string[], shapes: number[][]): ParamLayout {
  const offsets: number[] = [];
  let o = 0;
  for (const s of shapes) {
    offsets.push(o);
    o += s.reduce((a, b) => a * b, 1);
  }
  return { names, offsets, shapes, filterAxis: names.map((n, k) => filterAxisOf(model, n, shapes[k]!.length)) };
}

export interface DirectionOptions {
  normalization: Normalization;
  /** Zero out rank <= 1 tensors (biases, BN/LN scale and shift): Li et al.'s default. */
  ignoreBiasAndNorm: boolean;
}

/** One random direction, normalized per filter to the weights `theta`. */
export function randomDirection(theta: Float64Array, layout: ParamLayout, rng: Rng, opts: DirectionOptions): Float64Array {
  const d = new Float64Array(theta.length);
  for (let i = 0; i < d.length; i++) d[i] = rng.normal();
  normalizeDirection(d, theta, layout, opts);
  return d;
}

/** In place: filter-wise (or whole-tensor) rescaling of d to the norms of theta. */
export function normalizeDirection(d: Float64Array, theta: Float64Array, layout: ParamLayout, opts: DirectionOptions): void {
  layout.names.forEach((_, k) => {
    const shape = layout.shapes[k]!;
    const off = layout.offsets[k]!;
    const size = shape.reduce((a, b) => a * b, 1);
    const axis = layout.filterAxis[k]!;
    if (axis === null) {
      if (opts.ignoreBiasAndNorm) d.fill(0, off, off + size);
      else d.set(theta.subarray(off, off + size), off); // the paper's code: d <- w for 1-D tensors
      return;
    }
    if (opts.normalization === 'none') return;
    if (opts.normalization === 'layer') {
      scaleGroup(d, theta, groupIndices(off, size, [size], 0, 1)[0]!);
      return;
    }
    for (const idx of groupIndices(off, size, shape, axis, shape[axis]!)) scaleGroup(d, theta, idx);
  });
}

/** The flat indices of each slice along `axis` (filters), for a row-major tensor at `off`. */
function groupIndices(off: number, size: number, shape: number[], axis: 0 | 1, count: number): Int32Array[] {
  if (axis === 0 || shape.length < 2) {
    const per = size / count;
    return Array.from({ length: count }, (_, f) => Int32Array.from({ length: per }, (_, j) => off + f * per + j));
  }
  // axis 1 of [A, B, rest...]: element (a, b, r) sits at ((a * B) + b) * R + r.
  const a = shape[0]!;
  const b = shape[1]!;
  const r = size / (a * b);
  return Array.from({ length: b }, (_, f) => {
    const idx = new Int32Array(a * r);
    let k = 0;
    for (let i = 0; i < a; i++) for (let j = 0; j < r; j++) idx[k++] = off + (i * b + f) * r + j;
    return idx;
  });
}

function scaleGroup(d: Float64Array, theta: Float64Array, idx: Int32Array): void {
  let dn = 0;
  let wn = 0;
  for (let i = 0; i < idx.length; i++) {
    const j = idx[i]!;
    dn += d[j]! * d[j]!;
    wn += theta[j]! * theta[j]!;
  }
  // 1e-10 as in the paper's code, so an all-zero direction slice stays finite.
  const s = Math.sqrt(wn) / (Math.sqrt(dn) + 1e-10);
  for (let i = 0; i < idx.length; i++) {
    const j = idx[i]!;
    d[j] = d[j]! * s;
  }
}

/** Norm of each filter of tensor k (for tests and reports). */
export function filterNorms(v: Float64Array, layout: ParamLayout, k: number): number[] {
  const shape = layout.shapes[k]!;
  const off = layout.offsets[k]!;
  const size = shape.reduce((a, b) => a * b, 1);
  const axis = layout.filterAxis[k];
  if (axis === null || axis === undefined) return [Math.hypot(...v.subarray(off, off + size))];
  return groupIndices(off, size, shape, axis, shape[axis]!).map((idx) => {
    let s = 0;
    for (let i = 0; i < idx.length; i++) s += v[idx[i]!]! ** 2;
    return Math.sqrt(s);
  });
}
