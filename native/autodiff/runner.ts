/**
 * Runs derived graphs over batches with parameters as one flat vector, the form every
 * curvature and coherence analyzer works in: loss, gradient, H v. Sessions are opened once;
 * parameter values are fed on every run (so a perturbed weight vector needs no new session).
 */
import type * as ort from 'onnxruntime-node';
import { serializeModel } from '../onnx/ir.js';
import { tensor, type Tensor } from '../onnx/tensor.js';
import { createSession, runSession } from '../runtime/session.js';
import { hvpGraph, parameterGradientGraph, type PreparedModel } from './index.js';

export interface Batch {
  /** Data input(s) by name, batch-major. */
  inputs: Record<string, Tensor>;
  labels: Tensor;
  /** Per-sample weights (w_i); the loss is sum_i w_i l_i. Default 1/batch (the batch mean). */
  weights?: Tensor;
}

export class LossRunner {
  readonly offsets: number[] = [];
  readonly dim: number;
  private params: Map<string, Tensor>;

  private constructor(
    readonly prepared: PreparedModel,
    private readonly lossSession: ort.InferenceSession,
    private readonly gradSession: ort.InferenceSession | null,
    private readonly hvpSession: ort.InferenceSession | null,
    private readonly hvpNames: { grads: Map<string, string>; v: Map<string, string>; hv: Map<string, string> } | null,
    private readonly gradNames: Map<string, string> | null,
  ) {
    let offset = 0;
    for (const p of prepared.params) {
      this.offsets.push(offset);
      offset += prepared.values.get(p)!.data.length;
    }
    this.dim = offset;
    this.params = new Map(prepared.values);
  }

  static async create(prepared: PreparedModel, what: { gradient?: boolean; hvp?: boolean } = {}): Promise<LossRunner> {
    const lossSession = await createSession(serializeModel(prepared.model));
    let gradSession = null;
    let gradNames = null;
    if (what.gradient !== false) {
      const g = parameterGradientGraph(prepared);
      gradSession = await createSession(serializeModel(g.model));
      gradNames = g.grads;
    }
    let hvpSession = null;
    let hvpNames = null;
    if (what.hvp) {
      const h = await hvpGraph(prepared);
      hvpSession = await createSession(serializeModel(h.model));
      hvpNames = { grads: h.grads, v: h.tangentInputs, hv: h.hvps };
    }
    return new LossRunner(prepared, lossSession, gradSession, hvpSession, hvpNames, gradNames);
  }

  /** Current parameters as one flat float64 vector (in prepared.params order). */
  parameterVector(): Float64Array {
    return this.flatten((p) => this.params.get(p)!);
  }

  /** Replaces the parameters (a flat vector in prepared.params order). */
  setParameters(flat: Float64Array): void {
    for (const [p, t] of this.unflatten(flat)) this.params.set(p, t);
  }

  async loss(batch: Batch): Promise<{ loss: number; sampleLosses: Float64Array }> {
    const out = await runSession(this.lossSession, this.feeds(batch), [this.prepared.loss, this.prepared.sampleLosses]);
    return { loss: Number(out[this.prepared.loss]!.data[0]), sampleLosses: Float64Array.from(out[this.prepared.sampleLosses]!.data as Float32Array) };
  }

  async gradient(batch: Batch): Promise<{ loss: number; grad: Float64Array }> {
    if (!this.gradSession || !this.gradNames) throw new Error('LossRunner created without a gradient graph');
    const names = this.gradNames;
    const out = await runSession(this.gradSession, this.feeds(batch), [this.prepared.loss, ...names.values()]);
    return { loss: Number(out[this.prepared.loss]!.data[0]), grad: this.flatten((p) => out[names.get(p)!]!) };
  }

  /** H v (and the gradient, which comes for free) for one batch. */
  async hvp(batch: Batch, v: Float64Array): Promise<{ loss: number; grad: Float64Array; hv: Float64Array }> {
    if (!this.hvpSession || !this.hvpNames) throw new Error('LossRunner created without an HVP graph');
    const names = this.hvpNames;
    const feeds = this.feeds(batch);
    for (const [p, t] of this.unflatten(v)) feeds[names.v.get(p)!] = t;
    const out = await runSession(this.hvpSession, feeds);
    return {
      loss: Number(out[this.prepared.loss]?.data[0] ?? NaN),
      grad: this.flatten((p) => out[names.grads.get(p)!]!),
      hv: this.flatten((p) => out[names.hv.get(p)!]!),
    };
  }

  async release(): Promise<void> {
    await Promise.all([this.lossSession.release(), this.gradSession?.release(), this.hvpSession?.release()]);
  }

  private feeds(batch: Batch): Record<string, Tensor> {
    const n = batch.labels.dims[0]!;
    const feeds: Record<string, Tensor> = { ...batch.inputs, [this.prepared.labels]: this.cast(batch.labels, this.labelsDType()) };
    if (this.prepared.weights) {
      feeds[this.prepared.weights] = batch.weights
        ? this.cast(batch.weights, this.prepared.dtype)
        : tensor(this.prepared.dtype, [n], new Array(n).fill(1 / n));
    }
    for (const [name, t] of Object.entries(batch.inputs)) feeds[name] = this.cast(t, this.prepared.dtype);
    for (const [p, t] of this.params) feeds[p] = t;
    return feeds;
  }

  private labelsDType() {
    return this.prepared.model.graph.inputs.find((v) => v.name === this.prepared.labels)!.dtype;
  }

  private cast(t: Tensor, dtype: Tensor['dtype']): Tensor {
    if (t.dtype === dtype) return t;
    return tensor(dtype, t.dims, t.data as ArrayLike<number>);
  }

  private flatten(get: (p: string) => Tensor): Float64Array {
    const out = new Float64Array(this.dim);
    this.prepared.params.forEach((p, k) => {
      const d = get(p).data as Float32Array;
      const o = this.offsets[k]!;
      for (let i = 0; i < d.length; i++) out[o + i] = d[i]!;
    });
    return out;
  }

  private unflatten(flat: Float64Array): Map<string, Tensor> {
    if (flat.length !== this.dim) throw new Error(`expected ${this.dim} values, got ${flat.length}`);
    const out = new Map<string, Tensor>();
    this.prepared.params.forEach((p, k) => {
      const ref = this.prepared.values.get(p)!;
      const o = this.offsets[k]!;
      out.set(p, tensor(this.prepared.dtype, ref.dims, flat.subarray(o, o + ref.data.length)));
    });
    return out;
  }
}
