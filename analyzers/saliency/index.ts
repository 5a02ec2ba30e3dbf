/**
 * `saliency`: per-sample saliency maps for ONNX classifiers, with overlays and quality metrics.
 * Methods: NormGrad (Rebuffi et al. 2020; virtual-identity, proper, selective; multi-layer
 * combination), Grad-CAM++ (Chattopadhyay et al. 2018), Smooth Grad-CAM++ (Omeiza et al.
 * 2019), and the baselines Grad-CAM, gradient and SmoothGrad. Gradients come from our ONNX
 * autodiff (vjpGraph) at any intermediate tensor, for whole batches where the model allows.
 * See README.md for conventions shared with pytorch-grad-cam / torch-cam / Captum.
 */
import type { Analyzer, AnalyzerContext, ParamValues } from '../types.js';
import { AppError, badParams } from '../../common/errors.js';
import { conformDataset } from '../../datasets/conform.js';
import { prepareSaliencyModel, SaliencyRunner, type SaliencyModel } from './engine.js';
import { METHODS, inputMethod, rawMaps, resolveLayer, runnerSpec, type MapSpec, type Method, type NormGradVariant, type ResolvedLayer } from './compute.js';
import { candidateLayers, defaultLayer, inputGeometry, type InputGeometry, type LayerCandidate, type LayerLayout } from './layers.js';
import { finalizeMap, type CombineSpec } from './finalize.js';
import { renderOverlay } from './overlay.js';
import { classSensitivity, probabilityCurves, randomizationCheck, summarizeCurves, type Batch, type CurveResult, type RandomizationStep } from './quality.js';
import { classProbability } from './metrics.js';
import { argmax } from '../common/argmax.js';

export { candidateLayers, defaultLayer, type LayerCandidate } from './layers.js';

export const METRICS = ['classSensitivity', 'deletion', 'insertion', 'randomization'] as const;

export interface SaliencyParams extends ParamValues {
  method: string;
  layer?: string;
  layout: string;
  target: string;
  indices: string;
  samples: number;
  sigma: number;
  seed: number;
  combine: string;
  weights?: string;
  variant: string;
  metrics: string[];
  steps: number;
  randomizationSteps: number;
  batchSize: number;
  imageWeight: number;
  channels?: string;
  neurons?: string;
}

export interface SaliencyMap {
  /** Dataset index of the sample. */
  index: number;
  /** Class whose score was explained. */
  target: number;
  label: number | null;
  predicted: number;
  /** The target's score (pre-softmax) and probability. */
  score: number;
  probability: number;
  /** The layer (several joined by '+', combined). */
  layer: string;
  /** [h, w] of `values`. */
  shape: number[];
  /** Min-max normalized map, row-major. */
  values: number[];
  /** [H, W] of the input. */
  upsampledShape: number[];
  upsampled: number[];
  /** Range of the raw map before normalization (0, 0: an all-zero map). */
  rawMin: number;
  rawMax: number;
  /** PNG overlay file name, when artifacts are collected. */
  overlay: string | null;
}

export interface SaliencyMetrics {
  classSensitivity: { mean: number; perIndex: number[] } | null;
  deletion: CurveResult | null;
  insertion: CurveResult | null;
  randomization: { steps: RandomizationStep[]; finalSpearman: number } | null;
}

export interface SaliencyResult {
  method: string;
  variant: string | null;
  layers: string[];
  combine: string | null;
  weights: number[] | null;
  scoreTensor: string;
  targetMode: string;
  samples: number | null;
  sigma: number | null;
  numClasses: number;
  inputShape: number[];
  batched: boolean;
  maps: SaliencyMap[];
  metrics: SaliencyMetrics | null;
  /** Layers a UI can offer for the layer param. */
  candidateLayers: string[];
  notes: string[];
}

/** '0,1,2' / '0-9' / '0-3,7' / 'all' -> sorted unique indices < count (ranges are cut at count). */
export function parseIndices(spec: string, count: number): number[] {
  const s = spec.trim();
  if (s === 'all') return Array.from({ length: count }, (_, i) => i);
  const out = new Set<number>();
  for (const part of s.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!m) throw badParams(`indices: cannot read "${part}" (use e.g. 0,1,2 or 0-9)`, { param: 'indices' });
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    if (b < a) throw badParams(`indices: range ${part} runs backwards`, { param: 'indices' });
    if (a >= count) throw badParams(`indices: ${a} is out of range; the dataset has ${count} samples`, { param: 'indices' });
    // A range reaching past the end stops at the last sample ('0-9' on 5 samples is 0-4).
    for (let i = a; i <= Math.min(b, count - 1); i++) out.add(i);
  }
  if (out.size === 0) throw badParams('indices: no samples selected', { param: 'indices' });
  return [...out].sort((x, y) => x - y);
}

function parseWeights(spec: string | undefined, n: number): number[] {
  if (!spec || spec.trim() === '') return new Array(n).fill(1);
  const w = spec.split(',').map((v) => Number(v.trim()));
  if (w.length !== n || w.some((v) => !Number.isFinite(v) || v < 0) || w.every((v) => v === 0)) {
    throw badParams(`weights: need ${n} non-negative numbers (one per layer, not all 0), got "${spec}"`, { param: 'weights' });
  }
  return w;
}

function resolveLayers(sm: SaliencyModel, params: SaliencyParams, method: Method, variant: NormGradVariant, candidates: LayerCandidate[]): ResolvedLayer[] {
  const layout = params.layout as LayerLayout;
  if (inputMethod(method)) {
    const g = inputGeometry(sm.sampleDims);
    return [{ name: sm.input, geometry: { layout: 'channels-first', channels: g.channels, h: g.h, w: g.w, skipTokens: 0 } }];
  }
  let names: string[];
  if (params.layer && params.layer.trim() !== '') names = params.layer.split(',').map((s) => s.trim()).filter(Boolean);
  else if (method === 'normgrad' && variant === 'proper') {
    const conv = [...candidates].reverse().find((c) => c.kind === 'conv');
    if (!conv) throw badParams('variant=proper needs a Conv layer and the model has none with a spatial map');
    names = [conv.name];
  } else names = [defaultLayer(candidates).name];
  return names.map((n) => {
    try {
      return resolveLayer(sm, n, layout, method, variant);
    } catch (err) {
      if (err instanceof AppError) {
        throw badParams(`${err.message}; candidates: ${candidates.map((c) => c.name).join(', ')}`, { ...err.details, candidates: candidates.map((c) => c.name) });
      }
      throw err;
    }
  });
}

async function run(ctx: AnalyzerContext<SaliencyParams>): Promise<SaliencyResult> {
  const { params, signal } = ctx;
  if (!ctx.dataset) throw new AppError('BAD_DATASET', 'saliency needs a dataset (the images to explain)');
  const method = params.method as Method;
  if (!METHODS.includes(method)) throw badParams(`method must be one of ${METHODS.join(', ')}`);
  const variant = params.variant as NormGradVariant;
  for (const m of params.metrics) if (!(METRICS as readonly string[]).includes(m)) throw badParams(`metrics: unknown "${m}"; known: ${METRICS.join(', ')}`, { param: 'metrics' });
  const data = conformDataset(ctx.dataset, ctx.model.ir);
  const per = data.sampleShape.reduce((a, b) => a * b, 1);
  const indices = parseIndices(params.indices, data.count);
  const notes: string[] = [];
  if (data.reshapedInput) notes.push(`input reshaped from [${data.originalSampleShape}] to [${data.sampleShape}]`);

  ctx.progress(0, 'preparing the model');
  const sm = await prepareSaliencyModel(ctx.model, data.count >= 2 ? data.x.subarray(0, Math.min(3, data.count) * per) : undefined);
  if (!sm.batched) notes.push(`runs one sample at a time: ${sm.batchNote}`);
  const candidates = await candidateLayers(ctx.model.ir);
  const layers = resolveLayers(sm, params, method, variant, candidates);
  const combine: CombineSpec = { mode: params.combine as 'sum' | 'geometric', weights: parseWeights(params.weights, layers.length) };
  const cam = method === 'gradcam' || method === 'gradcampp' || method === 'smoothgradcampp';
  if ((params.channels || params.neurons) && !cam) throw badParams('channels / neurons subsets apply to gradcam, gradcampp and smoothgradcampp', { param: params.channels ? 'channels' : 'neurons' });
  const subset = (v: string | undefined) => (v && v.trim() !== '' && v.trim() !== 'all' ? parseIndices(v, Number.MAX_SAFE_INTEGER) : null);
  const spec: MapSpec = { method, variant, layers, samples: params.samples, sigma: params.sigma, seed: params.seed, channels: subset(params.channels), neurons: subset(params.neurons) };
  const input: InputGeometry = inputGeometry(sm.sampleDims);
  const K = sm.numClasses;

  const targetMode = params.target.trim();
  let fixedTarget: number | null = null;
  if (targetMode !== 'label' && targetMode !== 'predicted') {
    if (!/^\d+$/.test(targetMode)) throw badParams(`target must be 'label', 'predicted' or a class index; got "${params.target}"`, { param: 'target' });
    fixedTarget = Number(targetMode);
    if (fixedTarget >= K) throw badParams(`target ${fixedTarget} is out of range: the model has ${K} classes`, { param: 'target' });
  }
  if (targetMode === 'label' && !data.y) throw new AppError('BAD_DATASET', "target='label' needs labels (y) in the dataset");

  const runner = await SaliencyRunner.open(sm, runnerSpec(sm, spec));
  const maps: SaliencyMap[] = [];
  const batches: Batch[] = [];
  const wantMetrics = new Set(params.metrics);
  const metricWork = (wantMetrics.has('classSensitivity') ? 1 : 0) + (wantMetrics.has('deletion') ? 1 : 0) + (wantMetrics.has('insertion') ? 1 : 0) + (wantMetrics.has('randomization') ? 2 : 0);
  const share = 1 / (1 + metricWork);
  const cs: number[] = [];
  const del: number[][] = [];
  const ins: number[][] = [];
  try {
    const bs = sm.batched ? params.batchSize : 1;
    for (let start = 0; start < indices.length; start += bs) {
      if (signal.aborted) throw new AppError('CANCELLED', 'cancelled');
      const chunk = indices.slice(start, start + bs);
      const x = new Float32Array(chunk.length * per);
      chunk.forEach((idx, k) => x.set(data.x.subarray(idx * per, (idx + 1) * per), k * per));
      const argmaxOf = (scores: Float32Array) => chunk.map((_, s) => argmax(scores, s * K, K));
      // Only 'predicted' needs the scores before the gradient run; otherwise the (clean) gradient
      // run also yields the scores and activations.
      const before = targetMode === 'predicted' ? await runner.forward(x, chunk.length) : null;
      const labels = chunk.map((idx) => (data.y ? Number(data.y[idx]) : null));
      const targets = chunk.map((_, s) => {
        if (fixedTarget !== null) return fixedTarget;
        if (before) return argmaxOf(before[sm.score]!)[s]!;
        const l = labels[s]!;
        if (!Number.isInteger(l) || l! < 0 || l! >= K) throw new AppError('BAD_DATASET', `label of sample ${chunk[s]} is ${l}, not a class index below ${K}`);
        return l!;
      });
      const { maps: raw, forward } = await rawMaps(runner, spec, x, chunk.length, chunk, targets, before);
      const scores = forward[sm.score]!;
      const predicted = argmaxOf(scores);
      const finals = raw.map((r) => finalizeMap(r, layers, input, combine));
      const batch: Batch = { x, count: chunk.length, indices: chunk, targets, forward, maps: finals.map((f) => f.upsampled) };
      batches.push(batch);
      for (let s = 0; s < chunk.length; s++) {
        const f = finals[s]!;
        let overlay: string | null = null;
        if (ctx.artifacts) {
          overlay = `saliency_${chunk[s]}.png`;
          const png = renderOverlay({ image: x.subarray(s * per, (s + 1) * per), channels: input.channels, h: input.h, w: input.w, map: f.upsampled, imageWeight: params.imageWeight });
          await ctx.artifacts.write(overlay, png, 'image/png');
        }
        maps.push({
          index: chunk[s]!,
          target: targets[s]!,
          label: labels[s]!,
          predicted: predicted[s]!,
          score: scores[s * K + targets[s]!]!,
          probability: classProbability(scores, s, K, targets[s]!, sm.probability),
          layer: layers.map((l) => l.name).join('+'),
          shape: f.shape,
          values: Array.from(f.values),
          upsampledShape: [input.h, input.w],
          upsampled: Array.from(f.upsampled),
          rawMin: f.rawMin,
          rawMax: f.rawMax,
          overlay,
        });
      }
      if (wantMetrics.has('classSensitivity')) cs.push(...(await classSensitivity(runner, spec, batch, input, combine)));
      if (wantMetrics.has('deletion')) del.push(...(await probabilityCurves(runner, batch, input, params.steps, 'deletion')));
      if (wantMetrics.has('insertion')) ins.push(...(await probabilityCurves(runner, batch, input, params.steps, 'insertion')));
      ctx.progress(((start + chunk.length) / indices.length) * (wantMetrics.has('randomization') ? 1 - 2 * share : 1), `${start + chunk.length}/${indices.length} samples`);
    }
  } finally {
    runner.release();
  }

  let metrics: SaliencyMetrics | null = null;
  if (wantMetrics.size > 0) {
    metrics = {
      classSensitivity: wantMetrics.has('classSensitivity') ? { mean: cs.reduce((a, v) => a + v, 0) / cs.length, perIndex: cs } : null,
      deletion: wantMetrics.has('deletion') ? summarizeCurves(del, params.steps) : null,
      insertion: wantMetrics.has('insertion') ? summarizeCurves(ins, params.steps) : null,
      randomization: null,
    };
    if (wantMetrics.has('randomization')) {
      const base = 1 - 2 * share;
      const steps = await randomizationCheck(sm, spec, batches, input, combine, params.seed, params.randomizationSteps, (d, t) => ctx.progress(base + (1 - base) * (d / t), `randomization ${d}/${t}`), signal);
      if (steps.length === 0) notes.push('randomization: the model has no Conv/Gemm/MatMul layer with constant weights to re-draw');
      metrics.randomization = { steps, finalSpearman: steps.length > 0 ? steps[steps.length - 1]!.meanSpearman : 1 };
    }
  }
  ctx.progress(1, 'done');
  const smooth = method === 'smoothgradcampp' || method === 'smoothgrad';
  return {
    method,
    variant: method === 'normgrad' ? variant : null,
    layers: layers.map((l) => l.name),
    combine: layers.length > 1 ? combine.mode : null,
    weights: layers.length > 1 ? combine.weights : null,
    scoreTensor: sm.score,
    targetMode,
    samples: smooth ? params.samples : null,
    sigma: smooth ? params.sigma : null,
    numClasses: K,
    inputShape: sm.sampleDims,
    batched: sm.batched,
    maps,
    metrics,
    candidateLayers: candidates.map((c) => c.name),
    notes,
  };
}

export const saliencyAnalyzer: Analyzer<SaliencyParams, SaliencyResult> = {
  name: 'saliency',
  version: 1,
  description: 'Saliency maps (NormGrad, Grad-CAM++, Smooth Grad-CAM++, Grad-CAM, gradient, SmoothGrad) at any layer, with PNG overlays and quality metrics (class sensitivity, deletion/insertion AUC, randomization sanity check).',
  needsDataset: true,
  params: [
    { name: 'method', type: 'enum', choices: [...METHODS], default: 'normgrad', description: 'normgrad | gradcampp | smoothgradcampp | gradcam | gradient | smoothgrad.' },
    { name: 'layer', type: 'string', description: 'Intermediate tensor name(s), comma-separated for a multi-layer map; default: the last conv/activation output with a spatial map (the last Conv for variant=proper).' },
    { name: 'layout', type: 'enum', choices: ['auto', 'channels-first', 'tokens'], default: 'auto', description: "How the layer's dims are read: [N,C,H,W], or transformer tokens [N,T,C] mapped to a square grid (class token dropped)." },
    { name: 'target', type: 'string', default: 'predicted', description: "Class to explain: 'predicted' (highest score), 'label' (the dataset's y) or a class index." },
    { name: 'indices', type: 'string', default: '0-3', description: "Samples to explain: '0,1,2,3', '0-9', '0-3,7' or 'all'." },
    { name: 'samples', type: 'int', default: 8, min: 1, max: 1024, description: 'Noisy copies for smoothgradcampp / smoothgrad.' },
    { name: 'sigma', type: 'float', default: 0.1, min: 0, max: 10, description: 'Noise standard deviation relative to each input\'s range (max - min), for the smooth methods.' },
    { name: 'seed', type: 'int', default: 0, min: 0, description: 'Seed for the noise and the randomization check.' },
    { name: 'combine', type: 'enum', choices: ['sum', 'geometric'], default: 'sum', description: 'Multi-layer maps: weighted sum or weighted geometric mean of the per-layer maps (each resized to the input and min-max normalized).' },
    { name: 'weights', type: 'string', description: 'Per-layer weights for combine, comma-separated (default equal); normalized to sum 1.' },
    { name: 'variant', type: 'enum', choices: ['virtual-identity', 'proper', 'selective'], default: 'virtual-identity', description: 'NormGrad form: ||A||·||g|| per position; proper (conv input patch norm × output gradient norm); selective ||ReLU(A ⊙ g)||.' },
    { name: 'metrics', type: 'stringList', default: [], description: 'Quality metrics to compute (they cost extra runs): classSensitivity, deletion, insertion, randomization.' },
    { name: 'steps', type: 'int', default: 50, min: 2, max: 10000, description: 'Points on the deletion/insertion curves.' },
    { name: 'randomizationSteps', type: 'int', default: 16, min: 1, max: 1000, description: 'At most this many layers are re-drawn (top first) by the randomization check.' },
    { name: 'batchSize', type: 'int', default: 32, min: 1, max: 4096, description: 'Samples per runtime call.' },
    { name: 'channels', type: 'string', description: "CAM methods: only these feature maps enter sum_k w_k A_k ('0-7,12'); Smooth Grad-CAM++'s subset of feature maps." },
    { name: 'neurons', type: 'string', description: "CAM methods: only these positions of the layer's map (row-major h*w indices) enter the weight sums; Smooth Grad-CAM++'s subset of neurons." },
    { name: 'imageWeight', type: 'float', default: 0.5, min: 0, max: 1, description: 'Weight of the input image in the PNG overlays (pytorch-grad-cam image_weight).' },
  ],
  run,
};

export default saliencyAnalyzer;
