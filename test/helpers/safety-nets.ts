/** Small ReLU networks for the safety tests, built with buildModel (float32, batch 1). */
import { float, int, ints, type Attr, type Model } from '../../native/onnx/ir.js';
import { tensor } from '../../native/onnx/tensor.js';
import { buildModel } from './onnx-builder.js';
import { Rng } from '../../common/random.js';
import { loaded } from './tiny-models.js';
import type { LoadedModel } from '../../analyzers/types.js';

export interface Dense {
  /** out x in, row-major */
  W: number[];
  b: number[];
  out: number;
  in: number;
}

/** x [1, in] -> Gemm -> Relu -> ... -> Gemm (no ReLU after the last). */
export function mlp(layers: Dense[]): Model {
  const nodes: { op: string; inputs: string[]; outputs: string[]; attrs?: Record<string, Attr> }[] = [];
  const inits: Record<string, ReturnType<typeof tensor>> = {};
  let cur = 'x';
  layers.forEach((L, i) => {
    inits[`W${i}`] = tensor('float32', [L.out, L.in], L.W);
    inits[`b${i}`] = tensor('float32', [L.out], L.b);
    const z = i === layers.length - 1 ? 'y' : `z${i}`;
    nodes.push({ op: 'Gemm', inputs: [cur, `W${i}`, `b${i}`], outputs: [z], attrs: { transB: int(1), alpha: float(1), beta: float(1) } });
    if (i < layers.length - 1) {
      nodes.push({ op: 'Relu', inputs: [z], outputs: [`h${i}`] });
      cur = `h${i}`;
    }
  });
  return buildModel({ opset: 13, inputs: [{ name: 'x', dtype: 'float32', dims: [1, layers[0]!.in] }], nodes, outputs: ['y'], initializers: inits });
}

/** x in [0, 1]; h = relu([2x - 1, x]); y = h0 - h1 = -x on [0, 1/2], x - 1 on [1/2, 1]: min -1/2 at x = 1/2, max 0. */
export function vNet(): Model {
  return mlp([
    { W: [2, 1], b: [-1, 0], out: 2, in: 1 },
    { W: [1, -1], b: [0], out: 1, in: 2 },
  ]);
}

/** Random dense layers, weights N(0, 1/in), biases N(0, 0.1), rounded to float32. */
export function randomMlp(widths: number[], seed: number): { model: Model; layers: Dense[] } {
  const rng = new Rng(seed);
  const layers: Dense[] = [];
  for (let i = 0; i + 1 < widths.length; i++) {
    const n = widths[i]!;
    const m = widths[i + 1]!;
    layers.push({
      in: n,
      out: m,
      W: Array.from({ length: n * m }, () => Math.fround(rng.normal() / Math.sqrt(n))),
      b: Array.from({ length: m }, () => Math.fround(0.1 * rng.normal())),
    });
  }
  return { model: mlp(layers), layers };
}

/** Independent float64 forward pass and input gradient of <seed, y> for a dense ReLU net. */
export function denseForward(layers: Dense[], x: ArrayLike<number>, seed?: ArrayLike<number>): { y: number[]; g: number[] | null } {
  const acts: number[][] = [Array.from(x)];
  const masks: boolean[][] = [];
  let v = Array.from(x);
  layers.forEach((L, i) => {
    const z = new Array<number>(L.out).fill(0);
    for (let r = 0; r < L.out; r++) {
      let s = L.b[r]!;
      for (let c = 0; c < L.in; c++) s += L.W[r * L.in + c]! * v[c]!;
      z[r] = s;
    }
    if (i < layers.length - 1) {
      masks.push(z.map((t) => t > 0));
      v = z.map((t) => Math.max(t, 0));
    } else v = z;
    acts.push(v);
  });
  if (!seed) return { y: v, g: null };
  let g = Array.from(seed);
  for (let i = layers.length - 1; i >= 0; i--) {
    const L = layers[i]!;
    if (i < layers.length - 1) g = g.map((t, r) => (masks[i]![r] ? t : 0));
    const prev = new Array<number>(L.in).fill(0);
    for (let r = 0; r < L.out; r++) for (let c = 0; c < L.in; c++) prev[c] += L.W[r * L.in + c]! * g[r]!;
    g = prev;
  }
  return { y: v, g };
}

/** A 3 -> Conv(2x2, pads, stride) -> Relu -> MaxPool -> Flatten -> Gemm CNN with random weights. */
export function randomCnn(seed: number, opts: { pool?: 'MaxPool' | 'AveragePool'; act?: 'Relu' | 'Sigmoid' | 'Tanh' } = {}): Model {
  const rng = new Rng(seed);
  const r = (n: number, s: number) => Array.from({ length: n }, () => Math.fround(s * rng.normal()));
  const pool = opts.pool ?? 'MaxPool';
  const act = opts.act ?? 'Relu';
  // input [1, 2, 6, 6]; conv 3 filters 3x3, pads 1, stride 1 -> [1,3,6,6]; pool 2x2 stride 2 -> [1,3,3,3]; gemm 27 -> 4
  return buildModel({
    opset: 13,
    inputs: [{ name: 'x', dtype: 'float32', dims: [1, 2, 6, 6] }],
    nodes: [
      { op: 'Conv', inputs: ['x', 'cw', 'cb'], outputs: ['c'], attrs: { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]), strides: ints([1, 1]) } },
      { op: 'BatchNormalization', inputs: ['c', 'bs', 'bb', 'bm', 'bv'], outputs: ['n'], attrs: { epsilon: float(1e-3) } },
      { op: act, inputs: ['n'], outputs: ['a'] },
      {
        op: pool,
        inputs: ['a'],
        outputs: ['p'],
        attrs: pool === 'MaxPool' ? { kernel_shape: ints([2, 2]), strides: ints([2, 2]) } : { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]), count_include_pad: int(0) },
      },
      { op: 'Flatten', inputs: ['p'], outputs: ['f'], attrs: { axis: int(1) } },
      { op: 'Gemm', inputs: ['f', 'gw', 'gb'], outputs: ['y'], attrs: { transB: int(1) } },
    ],
    outputs: ['y'],
    initializers: {
      cw: tensor('float32', [3, 2, 3, 3], r(54, 0.4)),
      cb: tensor('float32', [3], r(3, 0.1)),
      bs: tensor('float32', [3], r(3, 0.3).map((v) => 1 + v)),
      bb: tensor('float32', [3], r(3, 0.1)),
      bm: tensor('float32', [3], r(3, 0.1)),
      bv: tensor('float32', [3], r(3, 0.2).map((v) => Math.fround(1 + Math.abs(v)))),
      gw: tensor('float32', [4, 27], r(108, 0.3)),
      gb: tensor('float32', [4], r(4, 0.1)),
    },
  });
}

export const asLoaded = (m: Model): LoadedModel => loaded(m);
