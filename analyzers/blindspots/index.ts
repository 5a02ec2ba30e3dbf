/**
 * `blindspots`: level-set traversal from source images toward images of other classes at
 * constant source-class confidence (traversal.ts), with the geometry of the level set around
 * each source (geometry.ts), distances to the targets, and images.
 */
import type { Analyzer, ParamValues } from '../types.js';
import { AppError } from '../../common/errors.js';
import { conformDataset } from '../../datasets/conform.js';
import { writeNpz } from '../../datasets/npz.js';
import { ConfidenceEvaluator } from './evaluator.js';
import { traverse } from './traversal.js';
import { lineConfidence, triangleConfidence, type TriangleStats } from './geometry.js';
import { selectPairs } from './pairs.js';
import { ssim } from './ssim.js';
import { sideBySidePng } from './images.js';

export interface BlindspotsParams extends ParamValues {
  sources?: number[];
  targets?: number[];
  stepSize: number;
  iters: number;
  pthresh: number;
  advStepSize: number;
  inputRange: number[];
  batchSize: number;
  maxPairs: number;
  linePoints: number;
  triangleGrid: number;
  seed: number;
}

export interface Distances {
  l2: number;
  linf: number;
  /** null for inputs that are not images. */
  ssim: number | null;
}

export interface PairResult {
  source: number;
  target: number;
  sourceClass: number;
  targetClass: number;
  initialConfidence: number;
  finalConfidence: number;
  finalPredicted: number;
  acceptedSteps: number;
  confidenceTrace: number[];
  initialDistance: Distances;
  finalDistance: Distances;
  /** 1 - final L2 / initial L2. */
  l2Reduction: number;
  lineConfidence: number[];
}

export interface SourceGeometry {
  source: number;
  endpoints: [number, number];
  triangle: TriangleStats;
}

export interface BlindspotsResult {
  pairs: PairResult[];
  triangles: SourceGeometry[];
  meanL2Reduction: number;
  keptSourceClass: number;
  sampleShape: number[];
}

export const blindspotsAnalyzer: Analyzer<BlindspotsParams, BlindspotsResult> = {
  name: 'blindspots',
  version: 1,
  description: 'Level-set traversal: inputs the model treats as the source class with unchanged confidence, walked toward images of other classes.',
  needsDataset: true,
  params: [
    { name: 'sources', type: 'intList', description: 'Source sample indices (default: the first image of each class).' },
    { name: 'targets', type: 'intList', description: 'Target sample indices (default: the first image of every other class).' },
    { name: 'stepSize', type: 'float', default: 1e-2, min: 1e-6, max: 1, description: 'Step along the target direction orthogonal to the gradient.' },
    { name: 'iters', type: 'int', default: 400, min: 1, max: 100_000, description: 'Iterations.' },
    { name: 'pthresh', type: 'float', default: 0.2, min: 0, max: 1, description: 'A step is accepted only while p_s(x0) - p_s(x) < pthresh.' },
    { name: 'advStepSize', type: 'float', default: 2e-3, min: 0, max: 1, description: 'Element-wise bound of the confidence-restoring correction.' },
    { name: 'inputRange', type: 'floatList', default: [0, 1], description: 'Input domain [lo, hi] (models fed 0..255 need 0,255).' },
    { name: 'batchSize', type: 'int', default: 64, min: 1, max: 4096, description: 'Pairs per runtime call.' },
    { name: 'maxPairs', type: 'int', default: 256, min: 1, max: 100_000, description: 'Refuse larger requests.' },
    { name: 'linePoints', type: 'int', default: 21, min: 2, max: 1000, description: 'Points on the line from the source to each end point.' },
    { name: 'triangleGrid', type: 'int', default: 10, min: 1, max: 100, description: 'Grid divisions per side of the triangle (x0, two end points).' },
    { name: 'seed', type: 'int', default: 0, min: 0, max: 2 ** 31 - 1, description: 'Kept for the cache key; the traversal is deterministic.' },
  ],
  async run(ctx) {
    const { params } = ctx;
    if (!ctx.dataset) throw new AppError('BAD_PARAMS', 'blindspots needs a dataset of images with labels');
    const data = conformDataset(ctx.dataset, ctx.model.ir);
    if (!(data.y instanceof Int32Array)) throw new AppError('BAD_DATASET', 'blindspots needs class labels (integer y)');
    if (data.yShape.length > 0) {
      throw new AppError('BAD_DATASET', `blindspots walks between samples of different classes: y needs one class index per sample, this y has per-sample shape [${data.yShape}]`);
    }
    const [lo, hi] = params.inputRange as [number, number];
    if (params.inputRange.length !== 2 || !(hi! > lo!)) throw new AppError('BAD_PARAMS', 'inputRange must be two numbers lo,hi with lo < hi');
    const pairs = selectPairs(data.y, params.sources, params.targets, params.maxPairs);
    const per = data.sampleShape.reduce((a, b) => a * b, 1);
    const ev = await ConfidenceEvaluator.create(ctx.model.ir, data.sampleShape, params.batchSize);
    try {
      const n = pairs.length;
      const x0 = new Float32Array(n * per);
      const xt = new Float32Array(n * per);
      const sources = new Int32Array(n);
      pairs.forEach((p, i) => {
        x0.set(data.x.subarray(p.source * per, (p.source + 1) * per), i * per);
        xt.set(data.x.subarray(p.target * per, (p.target + 1) * per), i * per);
        sources[i] = data.y![p.source]!;
      });
      const traversal = await traverse(
        ev,
        x0,
        xt,
        sources,
        { stepSize: params.stepSize, iters: params.iters, pthresh: params.pthresh, advStepSize: params.advStepSize, lo: lo!, hi: hi! },
        (done) => ctx.progress((0.9 * done) / params.iters, `iteration ${done}/${params.iters}`),
        ctx.signal,
      );
      const isImage = data.sampleShape.length >= 2 && data.sampleShape.slice(-2).every((d) => d >= 7);
      const distances = (a: Float32Array, b: Float32Array): Distances => {
        let l2 = 0;
        let linf = 0;
        for (let k = 0; k < a.length; k++) {
          const d = Math.abs(a[k]! - b[k]!);
          l2 += d * d;
          linf = Math.max(linf, d);
        }
        return { l2: Math.sqrt(l2), linf, ssim: isImage ? ssim(a, b, data.sampleShape, hi! - lo!) : null };
      };
      const view = (arr: Float32Array, i: number) => arr.subarray(i * per, (i + 1) * per);
      const results: PairResult[] = [];
      for (let i = 0; i < n; i++) {
        const initialDistance = distances(view(x0, i), view(xt, i));
        const finalDistance = distances(view(traversal.x, i), view(xt, i));
        results.push({
          source: pairs[i]!.source,
          target: pairs[i]!.target,
          sourceClass: sources[i]!,
          targetClass: data.y[pairs[i]!.target]!,
          initialConfidence: traversal.confidenceTrace[i]![0]!,
          finalConfidence: traversal.finalConfidence[i]!,
          finalPredicted: traversal.finalPredicted[i]!,
          acceptedSteps: traversal.accepted[i]!,
          confidenceTrace: traversal.confidenceTrace[i]!,
          initialDistance,
          finalDistance,
          l2Reduction: initialDistance.l2 > 0 ? 1 - finalDistance.l2 / initialDistance.l2 : 0,
          lineConfidence: await lineConfidence(ev, view(x0, i), view(traversal.x, i), sources[i]!, params.linePoints),
        });
      }
      ctx.progress(0.95, 'level-set geometry');
      const triangles: SourceGeometry[] = [];
      const bySource = new Map<number, number[]>();
      pairs.forEach((p, i) => bySource.set(p.source, [...(bySource.get(p.source) ?? []), i]));
      for (const [source, idx] of bySource) {
        if (idx.length < 2) continue;
        const [a, b] = idx as [number, number];
        triangles.push({
          source,
          endpoints: [pairs[a]!.target, pairs[b]!.target],
          triangle: await triangleConfidence(ev, view(x0, a), view(traversal.x, a), view(traversal.x, b), sources[a]!, results[a]!.initialConfidence, params.triangleGrid),
        });
      }
      if (ctx.artifacts) {
        await ctx.artifacts.write(
          'blindspots.npz',
          writeNpz({
            x: { dtype: 'f4', shape: [n, ...data.sampleShape], data: traversal.x },
            y: { dtype: 'i8', shape: [n], data: sources },
          }),
          'application/octet-stream',
        );
        for (let i = 0; i < Math.min(n, 32); i++) {
          const png = sideBySidePng([view(x0, i), view(xt, i), view(traversal.x, i)], data.sampleShape, lo!, hi!);
          if (png) await ctx.artifacts.write(`pair_${i}_${pairs[i]!.source}_to_${pairs[i]!.target}.png`, png, 'image/png');
        }
      }
      return {
        pairs: results,
        triangles,
        meanL2Reduction: results.reduce((s, r) => s + r.l2Reduction, 0) / n,
        keptSourceClass: results.filter((r) => r.finalPredicted === r.sourceClass).length / n,
        sampleShape: data.sampleShape,
      };
    } finally {
      await ev.release();
    }
  },
};
