/**
 * ONNX Runtime side of the safety checks: a plain forward session on the model's own bytes
 * (the judge of every counterexample: a fresh float32 forward pass of the model as shipped) and,
 * when the autodiff supports the model, an input-gradient session from vjpGraph (for PGD and
 * saliency). One sample per run: verification works on one point at a time, and models from
 * VNN-COMP have a fixed batch size of 1.
 */
import type { InferenceSession } from 'onnxruntime-node';
import type { Model } from '../../native/onnx/ir.js';
import { serializeModel } from '../../native/onnx/ir.js';
import { numel } from '../../native/onnx/tensor.js';
import { upgradeOpset } from '../../native/onnx/upgrade.js';
import { vjpGraph } from '../../native/autodiff/index.js';
import { createSession, runSession } from '../../native/runtime/session.js';
import { badModel } from '../../common/errors.js';

export class ModelRunner {
  private constructor(
    readonly inputName: string,
    readonly outputName: string,
    readonly inputShape: number[],
    readonly outputShape: number[],
    private readonly fwd: InferenceSession,
    private readonly bwd: { session: InferenceSession; seed: string; grad: string } | null,
    /** Why gradients are unavailable (null when they are). */
    readonly gradientIssue: string | null,
  ) {}

  get numInputs(): number {
    return numel(this.inputShape);
  }
  get numOutputs(): number {
    return numel(this.outputShape);
  }

  static async create(model: Model, bytes: Uint8Array, opts: { gradients?: boolean } = {}): Promise<ModelRunner> {
    const g = model.graph;
    if (g.inputs.length !== 1) throw badModel(`safety checks need a model with one input; this one has ${g.inputs.length}`);
    const input = g.inputs[0]!;
    const output = g.outputs[0]!;
    const fix = (shape: (number | string | null)[] | null, what: string): number[] => {
      if (!shape) throw badModel(`${what} has no shape`);
      return shape.map((d, i) => {
        if (typeof d === 'number') return d;
        if (i === 0) return 1;
        throw badModel(`${what} has a symbolic dimension ${d} beyond the batch`);
      });
    };
    const inputShape = fix(input.shape, `input ${input.name}`);
    const fwd = await createSession(bytes);
    let bwd: { session: InferenceSession; seed: string; grad: string } | null = null;
    let issue: string | null = 'gradients not requested';
    if (opts.gradients !== false) {
      try {
        const up = upgradeOpset(model);
        const v = await vjpGraph(up, output.name, [input.name], { upgrade: false });
        bwd = { session: await createSession(serializeModel(v.model)), seed: v.seed, grad: v.grads.get(input.name)! };
        issue = null;
      } catch (err) {
        issue = (err as Error).message;
      }
    }
    // The output shape as the runtime reports it (the declared one may be missing or symbolic).
    const probe = await runSession(fwd, { [input.name]: { dtype: 'float32', dims: inputShape, data: new Float32Array(numel(inputShape)) } }, [output.name]);
    const outputShape = probe[output.name]!.dims;
    return new ModelRunner(input.name, output.name, inputShape, outputShape, fwd, bwd, issue);
  }

  get hasGradients(): boolean {
    return this.bwd !== null;
  }

  /** Plain forward pass, float32 as the model runs; outputs widened to float64. */
  async forward(x: Float32Array): Promise<Float64Array> {
    const out = await runSession(this.fwd, { [this.inputName]: { dtype: 'float32', dims: this.inputShape, data: x } }, [this.outputName]);
    return Float64Array.from(out[this.outputName]!.data as Float32Array);
  }

  /** Output and d<seed, output>/d input at x. */
  async gradient(x: Float32Array, seed: Float64Array): Promise<{ y: Float64Array; g: Float64Array }> {
    if (!this.bwd) throw new Error('no gradient session');
    const out = await runSession(
      this.bwd.session,
      {
        [this.inputName]: { dtype: 'float32', dims: this.inputShape, data: x },
        [this.bwd.seed]: { dtype: 'float32', dims: this.outputShape, data: Float32Array.from(seed) },
      },
      [this.outputName, this.bwd.grad],
    );
    return {
      y: Float64Array.from(out[this.outputName]!.data as Float32Array),
      g: Float64Array.from(out[this.bwd.grad]!.data as Float32Array),
    };
  }

  async close(): Promise<void> {
    await this.fwd.release();
    if (this.bwd) await this.bwd.session.release();
  }
}

/** Smallest float32 >= v (v a double). */
export function float32AtLeast(v: number): number {
  const f = Math.fround(v);
  if (f >= v) return f;
  return nextFloat32(f, +1);
}

/** Largest float32 <= v. */
export function float32AtMost(v: number): number {
  const f = Math.fround(v);
  if (f <= v) return f;
  return nextFloat32(f, -1);
}

const buf = new DataView(new ArrayBuffer(4));
function nextFloat32(f: number, dir: 1 | -1): number {
  if (f === 0) return dir * 1.401298464324817e-45;
  buf.setFloat32(0, f);
  const bits = buf.getInt32(0);
  buf.setInt32(0, bits + (f > 0 ? dir : -dir));
  return buf.getFloat32(0);
}

/** x as float32 values inside [lo, hi] (round to nearest, then pulled back in when rounding left the box). */
export function toFloat32In(x: ArrayLike<number>, lo: Float64Array, hi: Float64Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let j = 0; j < x.length; j++) {
    let v = Math.fround(Math.min(hi[j]!, Math.max(lo[j]!, x[j]!)));
    if (v < lo[j]!) v = float32AtLeast(lo[j]!);
    if (v > hi[j]!) v = float32AtMost(hi[j]!);
    out[j] = v;
  }
  return out;
}
