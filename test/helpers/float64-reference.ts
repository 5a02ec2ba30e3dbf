/**
 * A float64 stand-in for models whose ops lack float64 kernels in ORT's CPU provider (Conv,
 * AveragePool, GlobalAveragePool): each such node is rewritten into ops that have them (Pad, Reshape, Gather,
 * MatMul, Transpose, ReduceMean, Add) by im2col (grouped and 1-D convs too) with index tables computed from the static
 * shapes, then the model goes to float64. It computes the same function in exact-enough
 * arithmetic, so central differences of it with h = 1e-6 are a reference for gradients of the
 * float32 model: no float32 rounding noise, and steps too small to cross ReLU / max-pool kinks.
 * Test-only: the autodiff never sees this model.
 */
import assert from 'node:assert/strict';
import { cloneModel, attrInt, attrInts, attrString, type Model, type Node } from '../../native/onnx/ir.js';
import { tensor, type Tensor } from '../../native/onnx/tensor.js';
import { Rng } from '../../common/random.js';
import { runModelOnce } from '../../native/runtime/session.js';
import { buildGradient } from '../../native/autodiff/gradient.js';
import { buildHvp } from '../../native/autodiff/hvp.js';
import { probeShapes } from '../../native/autodiff/shapes.js';
import { toFloat64 } from '../../native/onnx/precision.js';
import type { ShapeMap } from '../../native/autodiff/shapes.js';
import '../../native/autodiff/rules/index.js';

interface Geometry {
  C: number;
  Hp: number;
  Wp: number;
  Ho: number;
  Wo: number;
  kh: number;
  kw: number;
  s: number[];
  d: number[];
  pads: number[];
}

function geometry(n: Node, inDims: number[], kh: number, kw: number): Geometry {
  const [, C, H, W] = inDims as [number, number, number, number];
  const s = attrInts(n, 'strides') ?? [1, 1];
  const d = attrInts(n, 'dilations') ?? [1, 1];
  let pads = attrInts(n, 'pads') ?? [0, 0, 0, 0];
  const autoPad = attrString(n, 'auto_pad', 'NOTSET');
  const ek = [(kh - 1) * d[0]! + 1, (kw - 1) * d[1]! + 1];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const total = [H, W].map((x, i) => Math.max(0, (Math.ceil(x / s[i]!) - 1) * s[i]! + ek[i]! - x));
    const small = total.map((t) => Math.floor(t / 2));
    const big = total.map((t, i) => t - small[i]!);
    pads = autoPad === 'SAME_UPPER' ? [...small, ...big] : [...big, ...small];
  } else if (autoPad === 'VALID') pads = [0, 0, 0, 0];
  if (attrInt(n, 'ceil_mode', 0) !== 0) throw new Error('float64 reference: ceil_mode not supported');
  const Hp = H + pads[0]! + pads[2]!;
  const Wp = W + pads[1]! + pads[3]!;
  const Ho = Math.floor((Hp - ek[0]!) / s[0]!) + 1;
  const Wo = Math.floor((Wp - ek[1]!) / s[1]!) + 1;
  return { C, Hp, Wp, Ho, Wo, kh, kw, s, d, pads };
}

/** Flat indices into one padded example [C, Hp, Wp]: shape [channels?][Ho*Wo][patch]. */
function patchIndex(g: Geometry, c: number, oh: number, ow: number, i: number, j: number): number {
  return c * g.Hp * g.Wp + (oh * g.s[0]! + i * g.d[0]!) * g.Wp + (ow * g.s[1]! + j * g.d[1]!);
}

export function float64Reference(source: Model, shapes: ShapeMap): Model {
  const m = cloneModel(source);
  const g = m.graph;
  let k = 0;
  const init = (name: string, t: ReturnType<typeof tensor>) => {
    g.initializers.set(name, t);
    return name;
  };
  const nodes: Node[] = [];
  const emit = (opType: string, inputs: string[], attrs: Node['attrs'] = {}, out?: string) => {
    const o = out ?? `ref64/${k++}`;
    nodes.push({ opType, domain: '', name: `ref64/n${k++}`, inputs, outputs: [o], attrs });
    return o;
  };
  const i64 = (v: number[]) => init(`ref64/c${k++}`, tensor('int64', [v.length], v));
  /**
   * Conv by im2col, every group at once: patches [N, HoWo, G, Cg*kh*kw] (one Gather), moved to
   * [N, G, HoWo, Cg*kh*kw] and multiplied by the kernel as [G, Cg*kh*kw, Mg].
   */
  const conv2d = (n: Node, sh: ShapeMap) => {
    const x = n.inputs[0]!;
    const inDims = sh.get(x)!.dims as number[];
    const G = attrInt(n, 'group', 1);
    const [M, Cg, kh, kw] = sh.get(n.inputs[1]!)!.dims as [number, number, number, number];
    const Mg = M / G;
    const geo = geometry(n, inDims, kh, kw);
    const idx: number[] = [];
    for (let oh = 0; oh < geo.Ho; oh++) for (let ow = 0; ow < geo.Wo; ow++) for (let c = 0; c < G * Cg; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) idx.push(patchIndex(geo, c, oh, ow, i, j));
    const p = geo.pads;
    const patch = Cg * kh * kw;
    const xp = emit('Pad', [x, i64([0, 0, p[0]!, p[1]!, 0, 0, p[2]!, p[3]!])]);
    const flat = emit('Reshape', [xp, i64([0, -1])]);
    const cols = emit('Gather', [flat, init(`ref64/c${k++}`, tensor('int64', [geo.Ho * geo.Wo, G * patch], idx))], { axis: { kind: 'int', value: 1 } });
    const grouped = emit('Transpose', [emit('Reshape', [cols, i64([0, geo.Ho * geo.Wo, G, patch])])], { perm: { kind: 'ints', value: [0, 2, 1, 3] } });
    const wm = emit('Transpose', [emit('Reshape', [n.inputs[1]!, i64([G, Mg, patch])])], { perm: { kind: 'ints', value: [0, 2, 1] } });
    const prod = emit('Transpose', [emit('MatMul', [grouped, wm])], { perm: { kind: 'ints', value: [0, 1, 3, 2] } });
    const y = emit('Reshape', [prod, i64([0, M, geo.Ho, geo.Wo])], {}, n.inputs[2] ? undefined : n.outputs[0]);
    if (n.inputs[2]) emit('Add', [y, emit('Reshape', [n.inputs[2]!, i64([M, 1, 1])])], {}, n.outputs[0]);
  };
  for (const n of g.nodes) {
    if (n.opType === 'GlobalAveragePool') {
      // The mean over every spatial axis, kept as size-1 dims.
      const rank = shapes.get(n.inputs[0]!)!.dims.length;
      emit('ReduceMean', [n.inputs[0]!, i64(Array.from({ length: rank - 2 }, (_, i) => i + 2))], { keepdims: { kind: 'int', value: 1 } }, n.outputs[0]);
      continue;
    }
    if (n.opType !== 'Conv' && n.opType !== 'AveragePool') {
      nodes.push(n);
      continue;
    }
    const x = n.inputs[0]!;
    const inDims = shapes.get(x)!.dims as number[];
    if (n.opType === 'Conv' && inDims.length === 3) {
      // 1-D: the same conv on [N, C, 1, L] with a [M, C/G, 1, k] kernel.
      const wDims = shapes.get(n.inputs[1]!)!.dims as number[];
      const x4 = emit('Unsqueeze', [x, i64([2])]);
      const w4 = emit('Unsqueeze', [n.inputs[1]!, i64([2])]);
      const one = (a: string, fallback: number[]) => [1, ...(attrInts(n, a) ?? fallback)];
      const p1 = attrInts(n, 'pads') ?? [0, 0];
      const attrs: Node['attrs'] = { ...n.attrs, kernel_shape: { kind: 'ints', value: [1, wDims[2]!] }, strides: { kind: 'ints', value: one('strides', [1]) }, dilations: { kind: 'ints', value: one('dilations', [1]) }, pads: { kind: 'ints', value: [0, p1[0]!, 0, p1[1]!] } };
      const conv: Node = { ...n, inputs: [x4, w4, ...n.inputs.slice(2)], outputs: [`ref64/${k++}`], attrs };
      const y4 = conv.outputs[0]!;
      const shapes4 = new Map(shapes);
      shapes4.set(x4, { dtype: 'float32', dims: [inDims[0]!, inDims[1]!, 1, inDims[2]!] });
      shapes4.set(w4, { dtype: 'float32', dims: [wDims[0]!, wDims[1]!, 1, wDims[2]!] });
      conv2d(conv, shapes4);
      emit('Squeeze', [y4, i64([2])], {}, n.outputs[0]);
      continue;
    }
    if (inDims.length !== 4) throw new Error('float64 reference: 1-D and 2-D convs, 2-D pools only');
    if (n.opType === 'Conv') {
      conv2d(n, shapes);
    } else {
      const [kh, kw] = attrInts(n, 'kernel_shape') as [number, number];
      const geo = geometry(n, inDims, kh, kw);
      if (geo.pads.some((v) => v !== 0)) throw new Error('float64 reference: padded AveragePool not supported');
      const idx: number[] = [];
      for (let c = 0; c < geo.C; c++) for (let oh = 0; oh < geo.Ho; oh++) for (let ow = 0; ow < geo.Wo; ow++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) idx.push(patchIndex(geo, c, oh, ow, i, j));
      const flat = emit('Reshape', [x, i64([0, -1])]);
      const cols = emit('Gather', [flat, init(`ref64/c${k++}`, tensor('int64', [geo.C, geo.Ho * geo.Wo, kh * kw], idx))], { axis: { kind: 'int', value: 1 } });
      const mean = emit('ReduceMean', [cols, i64([3])], { keepdims: { kind: 'int', value: 0 } });
      emit('Reshape', [mean, i64([0, geo.C, geo.Ho, geo.Wo])], {}, n.outputs[0]);
    }
  }
  g.nodes = nodes;
  return toFloat64(m);
}

const widenFloat = (t: Tensor): Tensor => (t.dtype === 'float32' ? tensor('float64', [...t.dims], Float64Array.from(t.data as Float32Array)) : t);
const normalLike = (t: Tensor, rng: Rng, dtype: 'float32' | 'float64') => tensor(dtype, [...t.dims], Array.from({ length: t.data.length }, () => rng.normal()));
const dot = (a: Tensor, b: Tensor) => {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Number(a.data[i]) * Number(b.data[i]);
  return s;
};
const shifted = (feeds: Record<string, Tensor>, d: Record<string, Tensor>, step: number) => {
  const f = { ...feeds };
  for (const [w, dir] of Object.entries(d)) {
    const base = feeds[w]!;
    f[w] = tensor('float64', [...base.dims], Array.from(base.data as Float64Array, (v, i) => v + step * Number(dir.data[i])));
  }
  return f;
};

export interface ReferenceCheck {
  analytic: number;
  numeric: number;
  relError: number;
}

/**
 * u . (dy/dw) d from the gradient graph (float32, or float64 where the model runs in it) vs (s(w + h d) - s(w - h d)) / 2h of the float64
 * reference, s = u . y (y = `output`). Non-float feeds (labels) pass unchanged. `corruptSeed`
 * feeds the gradient graph a cotangent with one entry changed, as a rule that mis-routes one
 * output's gradient would: a comparison that still passed would be blind.
 */
export async function compareWithFloat64Reference(
  model: Model,
  feeds: Record<string, Tensor>,
  wrt: string[],
  output: string,
  opts: { seed: number; h?: number; corruptSeed?: boolean },
): Promise<ReferenceCheck> {
  const h = opts.h ?? 1e-6;
  const shapes = await probeShapes(model, () => feeds);
  const ref = float64Reference(model, shapes);
  const feeds64 = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, widenFloat(v)]));
  // The reference computes the model's function: outputs agree to float32 rounding.
  const y32 = (await runModelOnce(model, feeds))[output]!;
  const y64 = (await runModelOnce(ref, feeds64))[output]!;
  const scale = Math.max(...[...y64.data].map((v) => Math.abs(Number(v))));
  for (let i = 0; i < y32.data.length; i++) {
    assert.ok(Math.abs(Number(y32.data[i]) - Number(y64.data[i])) <= 1e-5 * scale, `reference output ${i}: ${y32.data[i]} vs ${y64.data[i]}`);
  }
  const rng = new Rng(opts.seed);
  const u = normalLike(y32, rng, y32.dtype as 'float32' | 'float64');
  const d: Record<string, Tensor> = {};
  for (const w of wrt) d[w] = normalLike(feeds[w]!, rng, 'float64');
  const grad = buildGradient(model, { of: output, seed: 'u', wrt }, shapes);
  const uFed = opts.corruptSeed ? tensor(u.dtype, [...u.dims], Array.from(u.data as Float32Array, (v, i) => (i === 0 ? v + 3 : v))) : u;
  const g = await runModelOnce(grad.model, { ...feeds, u: uFed });
  const analytic = wrt.reduce((s, w) => s + dot(g[grad.grads.get(w)!]!, d[w]!), 0);
  const objective = async (sign: number) => dot((await runModelOnce(ref, shifted(feeds64, d, sign * h)))[output]!, u);
  const numeric = ((await objective(1)) - (await objective(-1))) / (2 * h);
  const relError = Math.abs(analytic - numeric) / Math.max(Math.abs(analytic), Math.abs(numeric), 1e-8);
  if (process.env.REAL_MODELS_VERBOSE) console.log(`relError ${relError.toExponential(2)} (${wrt.length === 1 ? wrt[0] : `${wrt.length} tensors`})`);
  return { analytic, numeric, relError };
}

/**
 * H d of the scalar `output` from the float32 HVP graph vs central differences of the float64
 * reference's gradient, (g(w + h d) - g(w - h d)) / 2h: relative error of the whole vector.
 */
export async function compareHvpWithFloat64Reference(
  model: Model,
  feeds: Record<string, Tensor>,
  wrt: string[],
  output: string,
  opts: { seed: number; h?: number },
): Promise<{ relError: number; norm: number }> {
  const h = opts.h ?? 1e-6;
  const shapes = await probeShapes(model, () => feeds);
  const ref = float64Reference(model, shapes);
  const feeds64 = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, widenFloat(v)]));
  const rng = new Rng(opts.seed);
  const d: Record<string, Tensor> = {};
  for (const w of wrt) d[w] = normalLike(feeds[w]!, rng, 'float64');
  const hvp = await buildHvp(model, output, wrt, { shapes, feeds: () => feeds });
  const tangents: Record<string, Tensor> = {};
  for (const w of wrt) tangents[hvp.tangentInputs.get(w)!] = tensor(feeds[w]!.dtype, [...d[w]!.dims], d[w]!.data as Float64Array);
  const hd = await runModelOnce(hvp.model, { ...feeds, ...tangents });
  const refShapes = await probeShapes(ref, () => feeds64);
  const refGrad = buildGradient(ref, { of: output, wrt }, refShapes);
  const gp = await runModelOnce(refGrad.model, shifted(feeds64, d, h));
  const gm = await runModelOnce(refGrad.model, shifted(feeds64, d, -h));
  let num = 0;
  let den = 0;
  for (const w of wrt) {
    const a = hd[hvp.hvps.get(w)!]!;
    const p = gp[refGrad.grads.get(w)!]!;
    const m = gm[refGrad.grads.get(w)!]!;
    for (let i = 0; i < a.data.length; i++) {
      const fd = (Number(p.data[i]) - Number(m.data[i])) / (2 * h);
      num += (Number(a.data[i]) - fd) ** 2;
      den += fd ** 2;
    }
  }
  return { relError: Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12), norm: Math.sqrt(den) };
}
