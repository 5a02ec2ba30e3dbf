/**
 * From a batch of inputs and target classes to raw saliency maps: chooses what the runner must
 * differentiate and read, runs the clean and noisy passes, and applies methods.ts per sample.
 */
import { Rng } from '../../common/random.js';
import { badParams } from '../../common/errors.js';
import type { Node } from '../../native/onnx/ir.js';
import type { SaliencyModel, SaliencyRunner, RunnerSpec } from './engine.js';
import { channelsBySpace, layerGeometry, type LayerGeometry, type LayerLayout } from './layers.js';
import { CamTerms, type CamSubset, gradCam, gradCamPlusPlus, maxAbsOverChannels, normGradIdentity, normGradProper, normGradSelective } from './methods.js';
import { convGeometry, patchSquaredNorms, type ConvGeometry } from './im2col.js';

export const METHODS = ['normgrad', 'gradcampp', 'smoothgradcampp', 'gradcam', 'gradient', 'smoothgrad'] as const;
export type Method = (typeof METHODS)[number];
export type NormGradVariant = 'virtual-identity' | 'proper' | 'selective';

export const inputMethod = (m: Method): boolean => m === 'gradient' || m === 'smoothgrad';

export interface ResolvedLayer {
  name: string;
  geometry: LayerGeometry;
  /** proper NormGrad: the Conv whose weight gradient is measured, its input tensor and geometry. */
  conv?: { node: Node; input: string; geometry: ConvGeometry };
}

export interface MapSpec {
  method: Method;
  variant: NormGradVariant;
  /** Layers (one per map before combination); for gradient methods, the input as a layer. */
  layers: ResolvedLayer[];
  samples: number;
  sigma: number;
  seed: number;
  /** CAM methods: feature-map and position subsets (indices into the layer's channels / h*w map). */
  channels?: number[] | null;
  neurons?: number[] | null;
}

function mask(indices: number[] | null | undefined, n: number, what: string, layer: string): Uint8Array | null {
  if (!indices) return null;
  const m = new Uint8Array(n);
  for (const i of indices) {
    if (i >= n) throw badParams(`${what}: ${i} is out of range for layer "${layer}" (${n})`, { param: what });
    m[i] = 1;
  }
  return m;
}

/** Resolves a layer name against the model (BAD_PARAMS naming what is wrong). */
export function resolveLayer(sm: SaliencyModel, name: string, layout: LayerLayout, method: Method, variant: NormGradVariant): ResolvedLayer {
  const info = sm.shapes.get(name);
  const producer = sm.producers.get(name);
  if (!info || (!producer && name !== sm.input)) throw badParams(`no intermediate tensor named "${name}" in the model`, { layer: name });
  const dims = info.dims.slice(1).map((d) => d ?? 1);
  const geometry = layerGeometry(dims, producer?.opType, layout);
  if (!geometry) throw badParams(`layer "${name}" has per-sample shape [${dims}], which has no spatial map (expected [C, H, W], [C, L] or transformer tokens [T, C])`, { layer: name });
  if (!(method === 'normgrad' && variant === 'proper')) return { name, geometry };
  // proper NormGrad needs the Conv producing the layer (directly, or through its bias Add).
  let conv = producer;
  if (conv && (conv.opType === 'Add' || conv.opType === 'Sum')) conv = conv.inputs.map((i) => sm.producers.get(i)).find((n) => n?.opType === 'Conv');
  if (!conv || conv.opType !== 'Conv') throw badParams(`variant=proper needs a Conv output (or the Conv's bias Add) as the layer; "${name}" is produced by ${producer?.opType ?? 'nothing'}`, { layer: name });
  if (geometry.layout !== 'channels-first') throw badParams(`variant=proper needs a channels-first conv layer`, { layer: name });
  const input = conv.inputs[0]!;
  const w = sm.shapes.get(conv.inputs[1]!)!;
  const inDims = sm.shapes.get(input)!.dims.slice(1).map((d) => d ?? 1);
  const outDims = sm.shapes.get(conv.outputs[0]!)!.dims.slice(1).map((d) => d ?? 1);
  return { name, geometry, conv: { node: conv, input, geometry: convGeometry(conv, inDims, outDims, w.dims.map((d) => d ?? 1)) } };
}

/** What the runner must differentiate and read for a spec. */
export function runnerSpec(sm: SaliencyModel, spec: MapSpec): RunnerSpec {
  if (inputMethod(spec.method)) return { wrt: [sm.input], read: [] };
  const read = spec.layers.map((l) => l.name);
  for (const l of spec.layers) if (l.conv) read.push(l.conv.input);
  return { wrt: spec.layers.map((l) => l.name), read: [...new Set(read)] };
}

/** One-hot rows: the gradient of <seed, scores> is the gradient of each sample's target score. */
export function oneHot(targets: number[], K: number): Float32Array {
  const seed = new Float32Array(targets.length * K);
  targets.forEach((t, s) => (seed[s * K + t] = 1));
  return seed;
}

/**
 * Noisy copy number `copy` of a batch: x + N(0, (sigma (max - min))^2) per sample, with the
 * range of each sample's own values (SmoothGrad, Smilkov et al. 2017, Sec. 3: noise level
 * sigma / (x_max - x_min)). Each sample's noise comes from its own generator seeded by
 * (seed, dataset index), so maps do not depend on how samples were batched.
 */
export function noisyBatch(x: Float32Array, count: number, sigma: number, rngs: Rng[]): Float32Array {
  if (sigma === 0) return x;
  const per = x.length / count;
  const out = new Float32Array(x.length);
  for (let s = 0; s < count; s++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = s * per; i < (s + 1) * per; i++) {
      if (x[i]! < lo) lo = x[i]!;
      if (x[i]! > hi) hi = x[i]!;
    }
    const sd = sigma * (hi - lo);
    const rng = rngs[s]!;
    for (let i = s * per; i < (s + 1) * per; i++) out[i] = x[i]! + sd * rng.normal();
  }
  return out;
}

/** Rows per runtime call when noisy copies are stacked (copies of one batch go together). */
const MAX_STACKED_ROWS = 256;

/**
 * Gradients for `copies` noisy copies of a batch, handed to `use` one copy at a time (views of
 * count rows). Several copies share one runtime call when the model is batched: fewer, larger
 * calls. Each sample's generator is drawn copy after copy, as if the
 * copies ran one by one, so the maps do not depend on the stacking.
 */
async function forEachCopy(
  runner: SaliencyRunner,
  x: Float32Array,
  count: number,
  seed: Float32Array,
  sigma: number,
  rngs: Rng[],
  copies: number,
  use: (grads: Record<string, Float32Array>) => void,
  wantValues = false,
): Promise<Record<string, Float32Array> | null> {
  let values: Record<string, Float32Array> | null = null;
  const group = runner.sm.batched ? Math.max(1, Math.min(copies, Math.floor(MAX_STACKED_ROWS / count))) : 1;
  for (let k = 0; k < copies; k += group) {
    const n = Math.min(group, copies - k);
    let xs: Float32Array;
    let seeds: Float32Array;
    if (n === 1) {
      xs = noisyBatch(x, count, sigma, rngs);
      seeds = seed;
    } else {
      xs = new Float32Array(n * x.length);
      seeds = new Float32Array(n * seed.length);
      for (let j = 0; j < n; j++) {
        xs.set(noisyBatch(x, count, sigma, rngs), j * x.length);
        seeds.set(seed, j * seed.length);
      }
    }
    const first = wantValues && k === 0;
    const r = await runner.gradientsWithValues(xs, n * count, seeds, first);
    const g = r.grads;
    // Only asked for noise-free copies: every copy's values are the clean ones; keep copy 0's.
    if (first) values = Object.fromEntries(Object.entries(r.values!).map(([name, t]) => [name, t.subarray(0, t.length / n)]));
    for (let j = 0; j < n; j++) {
      const view: Record<string, Float32Array> = {};
      for (const [name, t] of Object.entries(g)) {
        const rows = t.length / (n * count);
        view[name] = t.subarray(j * count * rows, (j + 1) * count * rows);
      }
      use(view);
    }
  }
  return values;
}

export const sampleRng = (seed: number, index: number): Rng => new Rng((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);

/**
 * Raw maps per sample and layer (layer resolution; input resolution for gradient methods).
 * `forward` is the runner's forward output on the clean x (activations are always the clean
 * ones; only the derivative terms of the smooth variants see noise). Without it, the scores and
 * activations come from the gradient run itself when that run is noise-free (one runtime call
 * instead of two), else from a forward run; either way they are returned with the maps.
 */
export async function rawMaps(
  runner: SaliencyRunner,
  spec: MapSpec,
  x: Float32Array,
  count: number,
  indices: number[],
  targets: number[],
  forward: Record<string, Float32Array> | null,
): Promise<{ maps: Float64Array[][]; forward: Record<string, Float32Array> }> {
  const sm = runner.sm;
  const seed = oneHot(targets, sm.numClasses);
  const smooth = spec.method === 'smoothgradcampp' || spec.method === 'smoothgrad';
  // gradcampp is smoothgradcampp with one noise-free copy: the same code path for the terms.
  const copies = smooth ? spec.samples : 1;
  const sigma = smooth ? spec.sigma : 0;
  const rngs = indices.map((i) => sampleRng(spec.seed, i));
  const out: Float64Array[][] = Array.from({ length: count }, () => []);
  if (!forward && sigma !== 0) forward = await runner.forward(x, count);
  const want = forward === null;
  const keep = (v: Record<string, Float32Array> | null) => {
    if (want && v) forward = v;
  };

  if (inputMethod(spec.method)) {
    const g = spec.layers[0]!.geometry;
    const C = g.channels;
    const S = g.h * g.w;
    const acc = new Float64Array(count * C * S);
    keep(
      await forEachCopy(runner, x, count, seed, sigma, rngs, copies, (g) => {
        const grads = g[sm.input]!;
        // SmoothGrad averages the per-copy attributions |g| (Captum NoiseTunnel over Saliency).
        for (let i = 0; i < acc.length; i++) acc[i]! += Math.abs(grads[i]!);
      }, want),
    );
    for (let s = 0; s < count; s++) {
      const m = maxAbsOverChannels(acc, C, S, s * C * S);
      if (copies > 1) for (let p = 0; p < S; p++) m[p]! /= copies;
      out[s]!.push(m);
    }
    return { maps: out, forward: forward! };
  }

  const useTerms = spec.method === 'gradcampp' || spec.method === 'smoothgradcampp';
  let grads: Record<string, Float32Array> | null = null;
  let terms: CamTerms[][] | null = null;
  if (useTerms) {
    terms = Array.from({ length: count }, () => spec.layers.map((l) => new CamTerms(l.geometry.channels * l.geometry.h * l.geometry.w)));
    keep(
      await forEachCopy(runner, x, count, seed, sigma, rngs, copies, (g) => {
        for (let s = 0; s < count; s++) spec.layers.forEach((l, li) => terms![s]![li]!.add(channelsBySpace(g[l.name]!, s, l.geometry)));
      }, want),
    );
  } else {
    const r = await runner.gradientsWithValues(x, count, seed, want);
    grads = r.grads;
    keep(r.values);
  }
  const fwd: Record<string, Float32Array> = forward!;

  const subsets: CamSubset[] = spec.layers.map((l) => ({
    channels: mask(spec.channels, l.geometry.channels, 'channels', l.name),
    neurons: mask(spec.neurons, l.geometry.h * l.geometry.w, 'neurons', l.name),
  }));
  for (let s = 0; s < count; s++) {
    spec.layers.forEach((l, li) => {
      const geo = l.geometry;
      const C = geo.channels;
      const S = geo.h * geo.w;
      const A = channelsBySpace(fwd[l.name]!, s, geo);
      if (terms) {
        out[s]!.push(gradCamPlusPlus(A, terms[s]![li]!.average(), C, S, subsets[li]));
        return;
      }
      const G = channelsBySpace(grads![l.name]!, s, geo);
      if (spec.method === 'gradcam') out[s]!.push(gradCam(A, G, C, S, subsets[li]));
      else if (spec.variant === 'selective') out[s]!.push(normGradSelective(A, G, C, S));
      else if (spec.variant === 'proper') {
        const cg = l.conv!.geometry;
        const xin = fwd[l.conv!.input]!;
        const patch = patchSquaredNorms(xin, s * cg.cin * cg.hin * cg.win, cg);
        out[s]!.push(normGradProper(G, C, S, patch, cg.groups));
      } else out[s]!.push(normGradIdentity(A, G, C, S));
    });
  }
  return { maps: out, forward: fwd };
}
