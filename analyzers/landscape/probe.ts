/**
 * Loss, accuracy and (optionally) a representation of the whole evaluation set at any point of
 * parameter space: one session over the prepared loss model with the parameters fed as inputs,
 * so moving along a direction or a path needs no new session. Gradients (curve training) come
 * from the shared LossRunner.
 */
import type * as ort from 'onnxruntime-node';
import { cloneModel, serializeModel } from '../../native/onnx/ir.js';
import { tensor, type Tensor } from '../../native/onnx/tensor.js';
import { createSession, runSession } from '../../native/runtime/session.js';
import { LossRunner, type Batch } from '../../native/autodiff/runner.js';
import type { DifferentiableSetup } from '../common/differentiable.js';
import { AppError } from '../../common/errors.js';
import { BatchNormStatistics, batchNormSlots, liftStatistics } from './batchnorm.js';

export interface ProbePoint {
  loss: number;
  /** null for regression (mse). */
  accuracy: number | null;
}

export interface Representation {
  /** n x width, row-major. */
  values: Float64Array;
  n: number;
  width: number;
}

export class Probe {
  private runner: LossRunner | null = null;

  private constructor(
    readonly setup: DifferentiableSetup,
    private readonly session: ort.InferenceSession,
    readonly output: string,
    readonly layer: string | null,
    readonly batches: Batch[],
    readonly count: number,
    /** Present when the model has stored batch-norm statistics and recomputing was asked for. */
    private readonly batchNorm: BatchNormStatistics | null,
    /** What happened to the batch-norm statistics, for the result's notes (null: nothing to say). */
    readonly batchNormNote: string | null,
  ) {}

  /**
   * `layer`: a tensor whose values to return for CKA (default none). The model's first output
   * (logits, or probabilities) is always fetched, for accuracy.
   */
  static async create(setup: DifferentiableSetup, batches: Batch[], layer: string | null, opts: { recomputeBatchNorm?: boolean } = {}): Promise<Probe> {
    const prepared = setup.prepared;
    let model = cloneModel(prepared.model);
    const output = setup.model.graph.outputs[0]!.name;
    for (const name of [output, ...(layer ? [layer] : [])]) {
      if (model.graph.outputs.some((o) => o.name === name)) continue;
      const produced = model.graph.nodes.some((n) => n.outputs.includes(name)) || model.graph.inputs.some((i) => i.name === name);
      if (!produced) throw new AppError('BAD_PARAMS', `the model has no tensor named "${name}"`, { layer: name });
      model.graph.outputs.push({ name, dtype: prepared.dtype, shape: null, untyped: true });
    }
    const slots = opts.recomputeBatchNorm ? batchNormSlots(model) : [];
    let batchNorm: BatchNormStatistics | null = null;
    let batchNormNote: string | null = null;
    if (slots.length > 0 && !setup.batched) {
      // One sample per run leaves no batch to take statistics over.
      batchNormNote = 'batch-norm statistics not recomputed along the line and the curve: the model runs one sample at a time, so there is no batch to take them over';
    } else if (slots.length > 0) {
      batchNorm = await BatchNormStatistics.create(model, slots);
      model = liftStatistics(model, slots);
      batchNormNote = `batch-norm statistics of ${slots.length} layer(s) recomputed at every point of the line and the curve (not at the surface or the end models' own evaluation)`;
    }
    const session = await createSession(serializeModel(model));
    const count = batches.reduce((s, b) => s + b.labels.dims[0]!, 0);
    return new Probe(setup, session, output, layer, batches, count, batchNorm, batchNormNote);
  }

  get dim(): number {
    return this.setup.prepared.parameterCount;
  }

  /** The model's own parameters, flat, in prepared.params order. */
  parameters(): Float64Array {
    const out = new Float64Array(this.dim);
    let o = 0;
    for (const p of this.setup.prepared.params) {
      const d = this.setup.prepared.values.get(p)!.data;
      for (let i = 0; i < d.length; i++) out[o + i] = Number(d[i]);
      o += d.length;
    }
    return out;
  }

  /**
   * Dataset-mean loss and accuracy at theta (and the chosen representation when asked).
   * recomputeBatchNorm: with batch-norm statistics recomputed at theta (batchnorm.ts), as
   * points between two models need; otherwise the model's stored ones.
   */
  async evaluate(theta: Float64Array, wantRepresentation = false, recomputeBatchNorm = false): Promise<ProbePoint & { representation?: Representation }> {
    const prepared = this.setup.prepared;
    let params = this.paramFeeds(theta);
    if (this.batchNorm) {
      const stats = recomputeBatchNorm
        ? await this.batchNorm.recompute(this.batches.map((b) => ({ ...this.dataFeeds(b), ...params })))
        : this.batchNorm.stored;
      params = { ...params, ...stats };
    }
    const names = [prepared.loss, this.output, ...(wantRepresentation && this.layer ? [this.layer] : [])];
    let loss = 0;
    let correct = 0;
    let rows: Float64Array[] = [];
    let width = 0;
    const classify = prepared.lossKind !== 'mse';
    for (const batch of this.batches) {
      const out = await runSession(this.session, { ...this.dataFeeds(batch), ...params }, names);
      // The batches carry weights 1/N, so the batch losses sum to the dataset mean.
      loss += Number(out[prepared.loss]!.data[0]);
      const n = batch.labels.dims[0]!;
      const logits = out[this.output]!;
      if (classify) correct += countCorrect(logits, batch.labels, n, prepared.lossKind === 'binary-cross-entropy');
      if (wantRepresentation) {
        const rep = out[this.layer ?? this.output]!;
        width = rep.data.length / n;
        rows.push(Float64Array.from(rep.data as ArrayLike<number>));
      }
    }
    const point: ProbePoint & { representation?: Representation } = { loss, accuracy: classify ? correct / this.count : null };
    if (wantRepresentation) {
      const values = new Float64Array(this.count * width);
      let o = 0;
      for (const r of rows) {
        values.set(r, o);
        o += r.length;
      }
      rows = [];
      point.representation = { values, n: this.count, width };
    }
    return point;
  }

  /** Loss and gradient on batch k at theta (LossRunner's gradient graph). */
  async gradient(theta: Float64Array, k: number): Promise<{ loss: number; grad: Float64Array }> {
    this.runner ??= await LossRunner.create(this.setup.prepared, { gradient: true });
    this.runner.setParameters(theta);
    // Batch weights are 1/N over the whole set; rescale to this batch's mean.
    const batch = this.batches[k]!;
    const n = batch.labels.dims[0]!;
    const scale = this.count / n;
    const g = await this.runner.gradient(batch);
    for (let i = 0; i < g.grad.length; i++) g.grad[i] = g.grad[i]! * scale;
    return { loss: g.loss * scale, grad: g.grad };
  }

  async release(): Promise<void> {
    await Promise.all([this.session.release(), this.runner?.release(), this.batchNorm?.release()]);
  }

  private paramFeeds(theta: Float64Array): Record<string, Tensor> {
    const prepared = this.setup.prepared;
    if (theta.length !== this.dim) throw new AppError('BAD_PARAMS', `parameter vector of ${theta.length} values, model has ${this.dim}`);
    const feeds: Record<string, Tensor> = {};
    let o = 0;
    for (const p of prepared.params) {
      const ref = prepared.values.get(p)!;
      feeds[p] = tensor(prepared.dtype, ref.dims, theta.subarray(o, o + ref.data.length));
      o += ref.data.length;
    }
    return feeds;
  }

  private dataFeeds(batch: Batch): Record<string, Tensor> {
    const prepared = this.setup.prepared;
    const inputs = prepared.model.graph.inputs;
    const feeds: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(batch.inputs)) feeds[name] = cast(t, prepared.dtype);
    const labelType = inputs.find((v) => v.name === prepared.labels)!.dtype;
    feeds[prepared.labels] = cast(batch.labels, labelType);
    if (prepared.weights) feeds[prepared.weights] = cast(batch.weights!, prepared.dtype);
    return feeds;
  }
}

function cast(t: Tensor, dtype: Tensor['dtype']): Tensor {
  return t.dtype === dtype ? t : tensor(dtype, t.dims, t.data as ArrayLike<number>);
}

/** Top-1 hits: argmax over a sample's outputs; one sigmoid unit: p > 0.5 against y in {0, 1}. */
function countCorrect(out: Tensor, labels: Tensor, n: number, sigmoid: boolean): number {
  const k = out.data.length / n;
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const label = Math.round(Number(labels.data[i * (labels.data.length / n)]));
    let pred: number;
    if (sigmoid || k === 1) pred = Number(out.data[i * k]) > 0.5 ? 1 : 0;
    else {
      pred = 0;
      for (let j = 1; j < k; j++) if (Number(out.data[i * k + j]) > Number(out.data[i * k + pred])) pred = j;
    }
    if (pred === label) hits++;
  }
  return hits;
}
