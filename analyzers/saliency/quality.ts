/**
 * The runs behind the quality metrics (formulas in metrics.ts):
 *   classSensitivity  Spearman between the maps of the top- and the bottom-scoring class
 *                     (Rebuffi et al. 2020): a method that ignores the class scores ~1.
 *   deletion/insertion RISE's curves of the target-class probability as pixels are removed
 *                     (set to 0) or inserted into a blurred copy, in saliency order; AUC.
 *   randomization     Adebayo et al.'s cascading model-parameter randomization: re-draw the
 *                     weighted layers from the top, one more at each step, recompute the map
 *                     for the same target, report its Spearman with the original map.
 */
import { AppError } from '../../common/errors.js';
import { Rng } from '../../common/random.js';
import type { Tensor } from '../../native/onnx/tensor.js';
import { SaliencyRunner, withInitializers, type SaliencyModel } from './engine.js';
import { rawMaps, runnerSpec, type MapSpec } from './compute.js';
import { finalizeMap, type CombineSpec } from './finalize.js';
import type { InputGeometry } from './layers.js';
import { auc, classProbability, curveImages, gaussianBlur, parameterUnits, redrawn, saliencyOrder, spearman } from './metrics.js';
import { argmax, argmin } from '../common/argmax.js';

export interface Batch {
  x: Float32Array;
  count: number;
  indices: number[];
  targets: number[];
  forward: Record<string, Float32Array>;
  /** Final (upsampled) maps of this batch. */
  maps: Float64Array[];
}

export interface CurveResult {
  meanAuc: number;
  steps: number;
  perIndex: number[];
  /** Mean curve over the samples (steps + 1 points). */
  meanCurve: number[];
}

export interface RandomizationStep {
  /** Nodes re-drawn so far (top first). */
  randomized: string[];
  meanSpearman: number;
  perIndex: number[];
}


async function finalMaps(runner: SaliencyRunner, spec: MapSpec, b: Batch, targets: number[], forward: Record<string, Float32Array> | null, input: InputGeometry, combine: CombineSpec) {
  const { maps: raw } = await rawMaps(runner, spec, b.x, b.count, b.indices, targets, forward);
  return raw.map((r) => finalizeMap(r, spec.layers, input, combine).upsampled);
}

/** Spearman(map of the top class, map of the bottom class) per sample. */
export async function classSensitivity(runner: SaliencyRunner, spec: MapSpec, b: Batch, input: InputGeometry, combine: CombineSpec): Promise<number[]> {
  const K = runner.sm.numClasses;
  if (K < 2) throw new AppError('BAD_PARAMS', 'classSensitivity needs a model with at least two classes');
  const scores = b.forward[runner.sm.score]!;
  const top = Array.from({ length: b.count }, (_, s) => argmax(scores, s * K, K));
  const bottom = Array.from({ length: b.count }, (_, s) => argmin(scores, s * K, K));
  const a = await finalMaps(runner, spec, b, top, b.forward, input, combine);
  const z = await finalMaps(runner, spec, b, bottom, b.forward, input, combine);
  return a.map((m, s) => spearman(m, z[s]!));
}

/** Deletion or insertion curve per sample (target-class probability at steps + 1 points). */
export async function probabilityCurves(
  runner: SaliencyRunner,
  b: Batch,
  input: InputGeometry,
  steps: number,
  mode: 'deletion' | 'insertion',
): Promise<number[][]> {
  const K = runner.sm.numClasses;
  const P = input.h * input.w;
  const per = input.channels * P;
  const curves: number[][] = [];
  for (let s = 0; s < b.count; s++) {
    const x = b.x.subarray(s * per, (s + 1) * per);
    // Deletion ends at zeros (RISE's substrate); insertion starts from a blur with RISE's
    // sigma/size ratio (5 px at 224 px).
    const end = mode === 'deletion' ? new Float32Array(per) : gaussianBlur(x, input.channels, input.h, input.w, Math.max(0.5, (5 / 224) * Math.max(input.h, input.w)));
    const images = curveImages(Float32Array.from(x), end, saliencyOrder(b.maps[s]!), input.channels, steps, mode);
    const out = await runner.forward(images, steps + 1);
    const scores = out[runner.sm.score]!;
    curves.push(Array.from({ length: steps + 1 }, (_, k) => classProbability(scores, k, K, b.targets[s]!, runner.sm.probability)));
  }
  return curves;
}

export function summarizeCurves(curves: number[][], steps: number): CurveResult {
  const perIndex = curves.map((c) => auc(c));
  const meanCurve = Array.from({ length: steps + 1 }, (_, k) => curves.reduce((a, c) => a + c[k]!, 0) / Math.max(1, curves.length));
  return { meanAuc: perIndex.reduce((a, v) => a + v, 0) / Math.max(1, perIndex.length), steps, perIndex, meanCurve };
}

/**
 * Cascading randomization: step k re-draws the top k weighted layers (seeded by `seed`).
 * `batches` are the analysed samples with their original maps; targets stay fixed.
 */
export async function randomizationCheck(
  sm: SaliencyModel,
  spec: MapSpec,
  batches: Batch[],
  input: InputGeometry,
  combine: CombineSpec,
  seed: number,
  maxSteps: number,
  onStep: (done: number, total: number) => void,
  signal: AbortSignal,
): Promise<RandomizationStep[]> {
  const units = parameterUnits(sm.model).reverse().slice(0, maxSteps);
  const replaced = new Map<string, Tensor>();
  const steps: RandomizationStep[] = [];
  const rng = new Rng((seed ^ 0x5bd1e995) >>> 0);
  for (let k = 0; k < units.length; k++) {
    if (signal.aborted) throw new AppError('CANCELLED', 'cancelled');
    for (const t of units[k]!.tensors) replaced.set(t, redrawn(sm.model.graph.initializers.get(t)!, rng));
    const derived = withInitializers(sm, `${sm.id}:randomized:${seed}:${k + 1}`, replaced);
    const runner = await SaliencyRunner.open(derived, { ...runnerSpec(derived, spec), cache: false });
    try {
      const perIndex: number[] = [];
      for (const b of batches) {
        const maps = await finalMaps(runner, spec, b, b.targets, null, input, combine);
        maps.forEach((m, s) => perIndex.push(spearman(m, b.maps[s]!)));
      }
      steps.push({ randomized: units.slice(0, k + 1).map((u) => u.node), meanSpearman: perIndex.reduce((a, v) => a + v, 0) / perIndex.length, perIndex });
    } finally {
      runner.release();
    }
    onStep(k + 1, units.length);
  }
  return steps;
}
