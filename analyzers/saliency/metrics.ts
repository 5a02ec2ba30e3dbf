/**
 * Quality metrics for saliency maps, as pure functions (the runs they need are in quality.ts):
 *   Spearman rank correlation (class sensitivity, Rebuffi et al. 2020; model randomization,
 *   Adebayo et al., "Sanity Checks for Saliency Maps", NeurIPS 2018);
 *   deletion / insertion curves and their AUC (Petsiuk et al., RISE, BMVC 2018);
 *   the Gaussian blur RISE uses as the insertion start.
 */
import { Rng } from '../../common/random.js';
import type { Model, Node } from '../../native/onnx/ir.js';
import type { Tensor } from '../../native/onnx/tensor.js';

/** Ranks 1..n with ties given their average rank. */
export function ranks(v: ArrayLike<number>): Float64Array {
  const n = v.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => v[a]! - v[b]! || a - b);
  const r = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && v[order[j + 1]!] === v[order[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[order[k]!] = avg;
    i = j + 1;
  }
  return r;
}

/** Pearson correlation of the ranks; 0 when either map is constant (it ranks nothing). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ra = ranks(a);
  const rb = ranks(b);
  const n = ra.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += ra[i]!;
    mb += rb[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = ra[i]! - ma;
    const db = rb[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/** Positions in decreasing saliency, ties by position (stable, so runs are reproducible). */
export function saliencyOrder(map: ArrayLike<number>): Int32Array {
  const idx = Array.from({ length: map.length }, (_, i) => i);
  idx.sort((a, b) => map[b]! - map[a]! || a - b);
  return Int32Array.from(idx);
}

/**
 * The steps + 1 images of a deletion (from x towards `end`) or insertion (from `end` towards x)
 * curve: after step k the first round(k P / steps) positions of `order` (all channels) hold the
 * destination's values. x and end are one sample, C x P channel-major.
 */
export function curveImages(x: Float32Array, end: Float32Array, order: Int32Array, C: number, steps: number, mode: 'deletion' | 'insertion'): Float32Array {
  const P = order.length;
  const per = C * P;
  const out = new Float32Array((steps + 1) * per);
  const from = mode === 'deletion' ? x : end;
  const to = mode === 'deletion' ? end : x;
  const cur = Float32Array.from(from);
  let done = 0;
  for (let k = 0; k <= steps; k++) {
    const upto = Math.round((k * P) / steps);
    for (; done < upto; done++) {
      const p = order[done]!;
      for (let c = 0; c < C; c++) cur[c * P + p] = to[c * P + p]!;
    }
    out.set(cur, k * per);
  }
  return out;
}

/** Area under a curve sampled at steps + 1 evenly spaced points of [0, 1] (trapezoid rule, RISE's auc). */
export function auc(curve: ArrayLike<number>): number {
  const n = curve.length;
  if (n < 2) return curve[0] ?? 0;
  let s = 0;
  for (let i = 0; i < n; i++) s += curve[i]!;
  return (s - curve[0]! / 2 - curve[n - 1]! / 2) / (n - 1);
}

/** Probability of class t in row s of K scores: softmax over the row, or the sigmoid of the one score. */
export function classProbability(scores: ArrayLike<number>, s: number, K: number, t: number, kind: 'softmax' | 'sigmoid' = 'softmax'): number {
  if (kind === 'sigmoid' || K === 1) return 1 / (1 + Math.exp(-scores[s * K + t]!));
  let max = -Infinity;
  for (let j = 0; j < K; j++) max = Math.max(max, scores[s * K + j]!);
  let z = 0;
  for (let j = 0; j < K; j++) z += Math.exp(scores[s * K + j]! - max);
  return Math.exp(scores[s * K + t]! - max) / z;
}

/**
 * Gaussian blur per channel (separable, edges clamped): RISE's insertion substrate uses
 * kernel 11, sigma 5 at 224 px; we keep sigma / size the same fraction of the image.
 */
export function gaussianBlur(x: Float32Array, C: number, H: number, W: number, sigma: number): Float32Array {
  const radius = Math.max(1, Math.ceil(2 * sigma));
  const k = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) sum += k[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  const tmp = new Float64Array(H * W);
  const out = new Float32Array(x.length);
  const clamp = (v: number, n: number) => (v < 0 ? 0 : v >= n ? n - 1 : v);
  for (let c = 0; c < C; c++) {
    const o = c * H * W;
    for (let y = 0; y < H; y++)
      for (let xx = 0; xx < W; xx++) {
        let s = 0;
        for (let i = -radius; i <= radius; i++) s += k[i + radius]! * x[o + y * W + clamp(xx + i, W)]!;
        tmp[y * W + xx] = s;
      }
    for (let y = 0; y < H; y++)
      for (let xx = 0; xx < W; xx++) {
        let s = 0;
        for (let i = -radius; i <= radius; i++) s += k[i + radius]! * tmp[clamp(y + i, H) * W + xx]!;
        out[o + y * W + xx] = s;
      }
  }
  return out;
}

/** A layer with trainable weights, for the cascading randomization (top first). */
export interface ParamUnit {
  node: string;
  op: string;
  /** Initializers re-drawn when the unit is randomized (weights, then bias). */
  tensors: string[];
}

const WEIGHTED = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);
const CARRY = new Set(['Reshape', 'Transpose', 'Identity', 'Flatten', 'Squeeze', 'Unsqueeze']);

/**
 * Conv/Gemm/MatMul nodes with a constant weight (an initializer, possibly through a Reshape or
 * Transpose, as CNTK writes its dense layers), with their bias (third input, or the initializer
 * operand of an Add that directly follows), in graph order.
 */
export function parameterUnits(model: Model): ParamUnit[] {
  const g = model.graph;
  const producers = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) producers.set(o, n);
  const isFloatInit = (name: string) => {
    const t = g.initializers.get(name);
    return !!t && (t.dtype === 'float32' || t.dtype === 'float64') && t.data.length > 1;
  };
  const source = (name: string): string | null => {
    for (let hops = 0; hops < 8; hops++) {
      if (isFloatInit(name)) return name;
      const p = producers.get(name);
      if (!p || !CARRY.has(p.opType)) return null;
      name = p.inputs[0]!;
    }
    return null;
  };
  const units: ParamUnit[] = [];
  for (const n of g.nodes) {
    if (!WEIGHTED.has(n.opType)) continue;
    const tensors: string[] = [];
    for (const i of n.inputs.slice(0, 2)) {
      const s = i ? source(i) : null;
      if (s) tensors.push(s);
    }
    if (tensors.length === 0) continue;
    const bias = n.inputs[2];
    if (bias && isFloatInit(bias)) tensors.push(bias);
    const next = g.nodes.find((m) => (m.opType === 'Add' || m.opType === 'Sum') && m.inputs.includes(n.outputs[0]!));
    if (next) for (const i of next.inputs) if (i !== n.outputs[0] && isFloatInit(i)) tensors.push(i);
    units.push({ node: n.name, op: n.opType, tensors });
  }
  return units;
}

/**
 * A re-drawn copy of an initializer: N(0, sd^2) with the sd of the trained values, so the
 * scale of the layer is kept and only what it learned is destroyed (Adebayo et al. re-draw from
 * the layer's initialization distribution; the trained scale is the closest thing an ONNX file
 * carries). A constant tensor (e.g. zero biases) stays as it is.
 */
export function redrawn(t: Tensor, rng: Rng): Tensor {
  const d = t.data as Float32Array | Float64Array;
  let mean = 0;
  for (let i = 0; i < d.length; i++) mean += d[i]!;
  mean /= d.length;
  let v = 0;
  for (let i = 0; i < d.length; i++) v += (d[i]! - mean) ** 2;
  const sd = Math.sqrt(v / d.length);
  if (!(sd > 0)) return t;
  const data = d instanceof Float64Array ? new Float64Array(d.length) : new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) data[i] = sd * rng.normal();
  return { dtype: t.dtype, dims: [...t.dims], data };
}
