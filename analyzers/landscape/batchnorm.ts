/**
 * Batch-norm running statistics recomputed at a point of parameter space. The running mean and
 * variance a network was saved with belong to its own weights; at a point between two networks
 * they are wrong, and the loss there is meaningless unless they are recomputed (Garipov et al.
 * 2018, "Loss Surfaces, Mode Connectivity, and Fast Ensembling of DNNs", recompute them at every
 * point of a path). As torch.optim.swa_utils.update_bn does: one pass over the data in training
 * mode, where each BatchNormalization normalizes with its batch's mean and biased variance, and
 * the running statistics become the plain average over batches (momentum None) of the batch
 * means and of the unbiased batch variances.
 */
import type * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../../native/onnx/builder.js';
import { attrFloat, cloneModel, onnxOpset, serializeModel, type Model, type Node } from '../../native/onnx/ir.js';
import { tensor, type Tensor } from '../../native/onnx/tensor.js';
import type { DType } from '../../native/onnx/dtype.js';
import { createSession, runSession } from '../../native/runtime/session.js';

/** A BatchNormalization whose running statistics are stored in the model (initializers). */
export interface BatchNormSlot {
  /** Tensor names; they identify the node too (node names may be empty). */
  mean: string;
  variance: string;
}

/** BatchNormalization nodes with stored (initializer) running mean and variance. */
export function batchNormSlots(model: Model): BatchNormSlot[] {
  const init = model.graph.initializers;
  return model.graph.nodes
    .filter((n) => n.opType === 'BatchNormalization' && init.has(n.inputs[3] ?? '') && init.has(n.inputs[4] ?? ''))
    .map((n) => ({ mean: n.inputs[3]!, variance: n.inputs[4]! }));
}

/** The model with the slots' statistics turned into graph inputs, so each run can feed its own. */
export function liftStatistics(model: Model, slots: BatchNormSlot[]): Model {
  const out = cloneModel(model);
  for (const s of slots) {
    for (const name of [s.mean, s.variance]) {
      const t = out.graph.initializers.get(name);
      if (!t) continue;
      out.graph.initializers.delete(name);
      out.graph.inputs.push({ name, dtype: t.dtype, shape: t.dims });
    }
  }
  return out;
}

interface StatOutputs {
  slot: BatchNormSlot;
  mean: string;
  variance: string;
  size: string;
}

/** Runs the training-mode pass and averages its batch statistics. */
export class BatchNormStatistics {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly outputs: StatOutputs[],
    /** The statistics the model was saved with, as feeds. */
    readonly stored: Readonly<Record<string, Tensor>>,
  ) {}

  /** model: the model the probe runs (statistics still initializers there). */
  static async create(model: Model, slots: BatchNormSlot[]): Promise<BatchNormStatistics> {
    const stored: Record<string, Tensor> = {};
    for (const s of slots) for (const name of [s.mean, s.variance]) stored[name] = model.graph.initializers.get(name)!;
    const { model: training, outputs } = trainingModeModel(model, slots);
    return new BatchNormStatistics(await createSession(serializeModel(training)), outputs, stored);
  }

  /**
   * Recomputed statistics as feeds, from one run per batch (feeds: the probe's data and
   * parameter feeds for that batch).
   */
  async recompute(batchFeeds: Array<Record<string, Tensor>>): Promise<Record<string, Tensor>> {
    const names = this.outputs.flatMap((o) => [o.mean, o.variance, o.size]);
    const sums = this.outputs.map((o) => ({ mean: new Float64Array(this.stored[o.slot.mean]!.data.length), variance: new Float64Array(this.stored[o.slot.variance]!.data.length) }));
    for (const feeds of batchFeeds) {
      const out = await runSession(this.session, feeds, names);
      for (const [k, o] of this.outputs.entries()) {
        const mean = out[o.mean]!.data;
        const variance = out[o.variance]!.data;
        const channels = mean.length;
        // Values per channel in this batch (N times the spatial size): Bessel's correction.
        const m = Number(out[o.size]!.data[0]) / channels;
        const unbiased = m > 1 ? m / (m - 1) : 1;
        for (let c = 0; c < channels; c++) {
          sums[k]!.mean[c]! += Number(mean[c]);
          sums[k]!.variance[c]! += Number(variance[c]) * unbiased;
        }
      }
    }
    const feeds: Record<string, Tensor> = {};
    for (const [k, o] of this.outputs.entries()) {
      for (const [name, sum] of [[o.slot.mean, sums[k]!.mean], [o.slot.variance, sums[k]!.variance]] as const) {
        const ref = this.stored[name]!;
        feeds[name] = tensor(ref.dtype, ref.dims, sum.map((v) => v / batchFeeds.length));
      }
    }
    return feeds;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Each slot's BatchNormalization replaced by batch-statistics normalization over [N, C, rest],
 * with the batch mean, biased variance and element count of its input as extra outputs.
 */
function trainingModeModel(model: Model, slots: BatchNormSlot[]): { model: Model; outputs: StatOutputs[] } {
  const out = cloneModel(model);
  // The stored statistics are what this model replaces: drop them, unused.
  for (const s of slots) {
    out.graph.initializers.delete(s.mean);
    out.graph.initializers.delete(s.variance);
  }
  const original = out.graph.nodes;
  out.graph.nodes = [];
  const b = new GraphBuilder(out.graph, onnxOpset(out), 'bnstats');
  const dtype = model.graph.initializers.get(slots[0]!.mean)!.dtype;
  const bySlot = new Map(slots.map((s) => [s.mean, s]));
  const outputs: StatOutputs[] = [];
  for (const n of original) {
    const slot = n.opType === 'BatchNormalization' ? bySlot.get(n.inputs[3] ?? '') : undefined;
    if (!slot) {
      out.graph.nodes.push(n);
      continue;
    }
    outputs.push(normalizeWithBatchStatistics(b, n, slot, dtype));
  }
  for (const o of outputs) {
    out.graph.outputs.push({ name: o.mean, dtype, shape: null, untyped: true }, { name: o.variance, dtype, shape: null, untyped: true }, { name: o.size, dtype: 'int64', shape: null, untyped: true });
  }
  return { model: out, outputs };
}

function normalizeWithBatchStatistics(b: GraphBuilder, n: Node, slot: BatchNormSlot, dtype: DType): StatOutputs {
  const [x, scale, bias] = n.inputs as [string, string, string];
  const eps = attrFloat(n, 'epsilon', 1e-5);
  // [N, C, d...] -> [N, C, prod(d)] (rank 2 gives [N, C, 1]); statistics over axes 0 and 2.
  const flat = b.op('Reshape', [x, b.int64s([0, 0, -1], 'shape')]);
  const mean = b.reduce('ReduceMean', flat, [0, 2], true);
  const centred = b.sub(flat, mean);
  const variance = b.reduce('ReduceMean', b.mul(centred, centred), [0, 2], true);
  const column = (t: string) => b.op('Reshape', [t, b.int64s([1, -1, 1], 'shape')]);
  const normalized = b.div(centred, b.op('Sqrt', [b.add(variance, b.scalar(eps, dtype))]));
  const y = b.add(b.mul(normalized, column(scale)), column(bias));
  b.graph.nodes.push({ opType: 'Reshape', domain: '', name: b.fresh('bn_out'), inputs: [y, b.shape(x)], outputs: [n.outputs[0]!], attrs: {} });
  return { slot, mean: b.squeeze(mean, [0, 2]), variance: b.squeeze(variance, [0, 2]), size: b.op('Size', [x]) };
}
