/**
 * DLV-style manipulation families (Huang, Kwiatkowska, Wang & Wu 2017, "Safety Verification of
 * Deep Neural Networks"): a finite, discretized set of input changes around a sample, searched
 * exhaustively. "holds" here means: no manipulation in the enumerated set changes the class
 * (the set is the property, as in DLV's ladders on a discretized region), and each candidate is
 * judged by a plain ONNX Runtime forward pass, so the verdict is exact for the set.
 *   brightness: x + beta,       beta  in `steps` values evenly spaced over [-range, range]
 *   contrast:   alpha * x,      alpha in `steps` values evenly spaced over [1 - range, 1 + range]
 *   pixels:     x + delta_i on the k most salient inputs (saliency = |d logit_label / d x|,
 *               from the vjpGraph session), each delta_i in `steps` values over [-range, range]:
 *               steps^k combinations.
 * Every manipulated input is clipped to the input domain.
 */
import { badParams } from '../../common/errors.js';
import type { ModelRunner } from './runner.js';

export type ManipulationKind = 'brightness' | 'contrast' | 'pixels';

export interface ManipulationSpec {
  kind: ManipulationKind;
  range: number;
  steps: number;
  pixels: number;
  maxEvaluations: number;
  inputMin: number;
  inputMax: number;
}

export interface ManipulationOutcome {
  status: 'holds' | 'violated' | 'unknown';
  /** Size of the whole discretized family. */
  familySize: number;
  evaluated: number;
  /** The salient input indices perturbed (pixels family). */
  pixels: number[] | null;
  counterexample: { input: Float32Array; output: Float64Array; description: string } | null;
  /** Smallest margin (label logit - best other logit) over the evaluated set. */
  minMargin: number;
}

const levels = (lo: number, hi: number, steps: number): number[] =>
  steps === 1 ? [0.5 * (lo + hi)] : Array.from({ length: steps }, (_, i) => lo + ((hi - lo) * i) / (steps - 1));

function classMargin(y: Float64Array, label: number): number {
  let other = -Infinity;
  for (let j = 0; j < y.length; j++) if (j !== label) other = Math.max(other, y[j]!);
  return y[label]! - other;
}

export async function enumerateManipulations(
  runner: ModelRunner,
  x: Float32Array,
  label: number,
  spec: ManipulationSpec,
  signal?: AbortSignal,
  deadline = Infinity,
): Promise<ManipulationOutcome> {
  if (spec.steps < 1) throw badParams('manipulationSteps must be at least 1');
  const clip = (v: number) => Math.min(spec.inputMax, Math.max(spec.inputMin, v));
  let pixels: number[] | null = null;
  let familySize: number;
  let make: (t: number) => { x: Float32Array; description: string };
  if (spec.kind === 'brightness' || spec.kind === 'contrast') {
    const vals = spec.kind === 'brightness' ? levels(-spec.range, spec.range, spec.steps) : levels(1 - spec.range, 1 + spec.range, spec.steps);
    familySize = vals.length;
    make = (t) => {
      const v = vals[t]!;
      const out = new Float32Array(x.length);
      for (let j = 0; j < x.length; j++) out[j] = clip(spec.kind === 'brightness' ? x[j]! + v : v * x[j]!);
      return { x: out, description: `${spec.kind} ${spec.kind === 'brightness' ? 'offset' : 'factor'} ${v}` };
    };
  } else {
    if (!runner.hasGradients) throw badParams(`the pixels manipulation needs input gradients, which this model lacks: ${runner.gradientIssue}`);
    const seed = new Float64Array(runner.numOutputs);
    seed[label] = 1;
    const { g } = await runner.gradient(x, seed);
    const order = Array.from(g, (v, j) => [Math.abs(v), j] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    pixels = order.slice(0, Math.min(spec.pixels, x.length)).map(([, j]) => j);
    const vals = levels(-spec.range, spec.range, spec.steps);
    familySize = vals.length ** pixels.length;
    make = (t) => {
      const out = Float32Array.from(x);
      const parts: string[] = [];
      let r = t;
      for (const p of pixels!) {
        const d = vals[r % vals.length]!;
        r = Math.floor(r / vals.length);
        out[p] = clip(x[p]! + d);
        if (d !== 0) parts.push(`x[${p}]${d > 0 ? '+' : ''}${d}`);
      }
      return { x: out, description: parts.length ? parts.join(', ') : 'no change' };
    };
  }
  let evaluated = 0;
  let minMargin = Infinity;
  const limit = Math.min(familySize, spec.maxEvaluations);
  for (let t = 0; t < limit; t++) {
    if (signal?.aborted || Date.now() > deadline) break;
    const { x: xm, description } = make(t);
    const y = await runner.forward(xm);
    evaluated++;
    const m = classMargin(y, label);
    minMargin = Math.min(minMargin, m);
    // Ties count as a change of class, as in VNN-COMP's robustness properties (Y_j >= Y_label).
    if (m <= 0) return { status: 'violated', familySize, evaluated, pixels, counterexample: { input: xm, output: y, description }, minMargin };
  }
  return { status: evaluated === familySize ? 'holds' : 'unknown', familySize, evaluated, pixels, counterexample: null, minMargin };
}
