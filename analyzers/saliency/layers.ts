/**
 * Which intermediate tensors make good saliency layers, and how a layer's activations are
 * read as (channels x spatial positions), the form every CAM/NormGrad formula works on.
 *
 * Layouts:
 *   channels-first  [N, C, H, W] (or [N, C, L], read as 1 x L): the ONNX convention.
 *   tokens          [N, T, C] from transformer blocks: mapped to a square grid the way
 *                   pytorch-grad-cam's reshape_transform does for ViT (a leading class token
 *                   dropped when T - 1 is a square, DESIGN.md conventions).
 */
import { badParams } from '../../common/errors.js';
import type { Model, Node } from '../../native/onnx/ir.js';
import { upgradeOpset } from '../../native/onnx/upgrade.js';
import { probeShapes, type ShapeMap } from '../../native/autodiff/shapes.js';

export type LayerLayout = 'auto' | 'channels-first' | 'tokens';

/** How one layer's per-sample activations map onto channels x (h x w) positions. */
export interface LayerGeometry {
  layout: 'channels-first' | 'tokens';
  channels: number;
  h: number;
  w: number;
  /** tokens only: leading tokens skipped (the class token). */
  skipTokens: number;
}

const CONV_OPS = new Set(['Conv', 'ConvTranspose', 'ConvInteger', 'QLinearConv']);
const ACTIVATION_OPS = new Set([
  'Relu', 'LeakyRelu', 'PRelu', 'Elu', 'Selu', 'Celu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Clip',
  'Softplus', 'Mish', 'Gelu', 'ThresholdedRelu',
]);
const NORM_OPS = new Set(['BatchNormalization', 'InstanceNormalization', 'LayerNormalization', 'GroupNormalization']);
const POOL_OPS = new Set(['MaxPool', 'AveragePool', 'LpPool']);

export type CandidateKind = 'conv' | 'activation' | 'norm' | 'bias' | 'pool' | 'residual';

export interface LayerCandidate {
  /** Tensor name, as in the uploaded model. */
  name: string;
  /** The op that produces it. */
  op: string;
  kind: CandidateKind;
  /** Per-sample shape (batch dimension dropped). */
  shape: number[];
  layout: 'channels-first' | 'tokens';
  /** Resolution of its saliency map. */
  h: number;
  w: number;
}

const isSquare = (n: number) => n >= 4 && Number.isInteger(Math.sqrt(n));

/** Geometry of a layer with per-sample dims `dims` produced by `op` (null when it has no spatial map). */
export function layerGeometry(dims: number[], op: string | undefined, layout: LayerLayout = 'auto'): LayerGeometry | null {
  const tokenGrid = (): LayerGeometry | null => {
    if (dims.length !== 2) return null;
    const [t, c] = dims as [number, number];
    if (isSquare(t)) return { layout: 'tokens', channels: c, h: Math.sqrt(t), w: Math.sqrt(t), skipTokens: 0 };
    if (isSquare(t - 1)) return { layout: 'tokens', channels: c, h: Math.sqrt(t - 1), w: Math.sqrt(t - 1), skipTokens: 1 };
    return null;
  };
  if (layout === 'tokens') return tokenGrid();
  if (layout === 'auto' && dims.length === 2 && op && !CONV_OPS.has(op) && !POOL_OPS.has(op) && op !== 'BatchNormalization') {
    const t = tokenGrid();
    if (t) return t;
  }
  if (dims.length === 3) return { layout: 'channels-first', channels: dims[0]!, h: dims[1]!, w: dims[2]!, skipTokens: 0 };
  if (dims.length === 2) return { layout: 'channels-first', channels: dims[0]!, h: 1, w: dims[1]!, skipTokens: 0 };
  return null;
}

/**
 * Sample s of a [N, ...] activation or gradient, rearranged as channels x positions
 * (channel-major) in float64: out[c * S + p], S = h * w.
 */
export function channelsBySpace(data: ArrayLike<number>, s: number, g: LayerGeometry): Float64Array {
  const S = g.h * g.w;
  const C = g.channels;
  const out = new Float64Array(C * S);
  if (g.layout === 'channels-first') {
    const off = s * C * S;
    for (let i = 0; i < C * S; i++) out[i] = data[off + i]!;
    return out;
  }
  // tokens: [T, C] token-major; token skipTokens + p is position p.
  const T = S + g.skipTokens;
  const off = s * T * C;
  for (let p = 0; p < S; p++) {
    const row = off + (p + g.skipTokens) * C;
    for (let c = 0; c < C; c++) out[c * S + p] = data[row + c]!;
  }
  return out;
}

/** Per-sample shape of the input and how it is drawn: channels x height x width. */
export interface InputGeometry {
  channels: number;
  h: number;
  w: number;
}

/** [C,H,W] as is; [H,W] gray; [F] a square gray image when F is square, else a 1 x F strip. */
export function inputGeometry(dims: number[]): InputGeometry {
  if (dims.length === 3) return { channels: dims[0]!, h: dims[1]!, w: dims[2]! };
  if (dims.length === 2) return dims[0]! <= 4 ? { channels: dims[0]!, h: 1, w: dims[1]! } : { channels: 1, h: dims[0]!, w: dims[1]! };
  if (dims.length === 1) {
    const r = Math.sqrt(dims[0]!);
    return Number.isInteger(r) ? { channels: 1, h: r, w: r } : { channels: 1, h: 1, w: dims[0]! };
  }
  const total = dims.reduce((a, b) => a * b, 1);
  return { channels: 1, h: 1, w: total };
}

function kindOf(node: Node, producers: Map<string, Node>): CandidateKind | null {
  if (CONV_OPS.has(node.opType)) return 'conv';
  if (ACTIVATION_OPS.has(node.opType)) return 'activation';
  if (NORM_OPS.has(node.opType)) return 'norm';
  if (POOL_OPS.has(node.opType)) return 'pool';
  if (node.opType === 'Add' || node.opType === 'Sum') {
    // A conv followed by a separate bias Add (CNTK, some TF exports) is still "the conv output".
    const fromConv = node.inputs.some((i) => CONV_OPS.has(producers.get(i)?.opType ?? ''));
    if (fromConv) return 'bias';
    const both = node.inputs.filter((i) => producers.has(i)).length >= 2;
    return both ? 'residual' : null;
  }
  return null;
}

/** Probed shapes of the opset-upgraded model; cached per model object. */
const shapeCache = new WeakMap<Model, Promise<{ model: Model; shapes: ShapeMap }>>();
export function upgradedWithShapes(model: Model): Promise<{ model: Model; shapes: ShapeMap }> {
  let p = shapeCache.get(model);
  if (!p) {
    p = (async () => {
      const up = upgradeOpset(model);
      return { model: up, shapes: await probeShapes(up) };
    })();
    shapeCache.set(model, p);
    p.catch(() => shapeCache.delete(model));
  }
  return p;
}

/**
 * Tensors worth a saliency map, in graph order: conv, activation, normalization, bias-add,
 * pooling and residual outputs with a spatial map larger than 1 x 1 (or a token grid).
 * What a UI offers for the `layer` param; the default layer is the last conv/activation.
 */
export async function candidateLayers(model: Model): Promise<LayerCandidate[]> {
  const { model: up, shapes } = await upgradedWithShapes(model);
  const producers = new Map<string, Node>();
  for (const n of up.graph.nodes) for (const o of n.outputs) if (o) producers.set(o, n);
  const out: LayerCandidate[] = [];
  for (const n of up.graph.nodes) {
    const kind = kindOf(n, producers);
    const name = n.outputs[0];
    if (!kind || !name) continue;
    const info = shapes.get(name);
    if (!info) continue;
    const dims = info.dims.slice(1).map((d) => d ?? 1);
    const g = layerGeometry(dims, n.opType);
    if (!g || g.h * g.w < 2) continue;
    out.push({ name, op: n.opType, kind, shape: dims, layout: g.layout, h: g.h, w: g.w });
  }
  return out;
}

/** The last conv/activation candidate (pytorch-grad-cam's usual choice: the last conv block's output). */
export function defaultLayer(candidates: LayerCandidate[]): LayerCandidate {
  const best = [...candidates].reverse().find((c) => c.kind === 'conv' || c.kind === 'activation' || c.kind === 'bias');
  const pick = best ?? candidates[candidates.length - 1];
  if (!pick) throw badParams('the model has no intermediate tensor with a spatial map; name one with the layer param');
  return pick;
}
