/**
 * A float64 stand-in for models whose ops lack float64 kernels in ORT's CPU provider (Conv,
 * AveragePool): each such node is rewritten into ops that have them (Pad, Reshape, Gather,
 * MatMul, Transpose, ReduceMean, Add) by im2col with index tables computed from the static
 * shapes, then the model goes to float64. It computes the same function in exact-enough
 * arithmetic, so central differences of it with h = 1e-6 are a reference for gradients of the
 * float32 model: no float32 rounding noise, and steps too small to cross ReLU / max-pool kinks.
 * Test-only: the autodiff never sees this model.
 */
import { cloneModel, attrInt, attrInts, attrString, type Model, type Node } from '../../native/onnx/ir.js';
import { tensor } from '../../native/onnx/tensor.js';
import { toFloat64 } from '../../native/onnx/precision.js';
import type { ShapeMap } from '../../native/autodiff/shapes.js';

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
  for (const n of g.nodes) {
    if (n.opType !== 'Conv' && n.opType !== 'AveragePool') {
      nodes.push(n);
      continue;
    }
    const x = n.inputs[0]!;
    const inDims = shapes.get(x)!.dims as number[];
    if (inDims.length !== 4) throw new Error('float64 reference: 2-D convs/pools only');
    if (n.opType === 'Conv') {
      if (attrInt(n, 'group', 1) !== 1) throw new Error('float64 reference: group != 1');
      const wDims = shapes.get(n.inputs[1]!)!.dims as number[];
      const [M, C, kh, kw] = wDims as [number, number, number, number];
      const geo = geometry(n, inDims, kh, kw);
      const idx: number[] = [];
      for (let oh = 0; oh < geo.Ho; oh++) for (let ow = 0; ow < geo.Wo; ow++) for (let c = 0; c < C; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) idx.push(patchIndex(geo, c, oh, ow, i, j));
      const p = geo.pads;
      const xp = emit('Pad', [x, i64([0, 0, p[0]!, p[1]!, 0, 0, p[2]!, p[3]!])]);
      const flat = emit('Reshape', [xp, i64([0, -1])]);
      const cols = emit('Gather', [flat, init(`ref64/c${k++}`, tensor('int64', [geo.Ho * geo.Wo, C * kh * kw], idx))], { axis: { kind: 'int', value: 1 } });
      const wm = emit('Transpose', [emit('Reshape', [n.inputs[1]!, i64([M, C * kh * kw])])], { perm: { kind: 'ints', value: [1, 0] } });
      const prod = emit('Transpose', [emit('MatMul', [cols, wm])], { perm: { kind: 'ints', value: [0, 2, 1] } });
      const y = n.inputs[2] ? emit('Reshape', [prod, i64([0, M, geo.Ho, geo.Wo])]) : undefined;
      if (y) emit('Add', [y, emit('Reshape', [n.inputs[2]!, i64([M, 1, 1])])], {}, n.outputs[0]);
      else emit('Reshape', [prod, i64([0, M, geo.Ho, geo.Wo])], {}, n.outputs[0]);
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
