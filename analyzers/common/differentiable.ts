/**
 * The setup every gradient-based analyzer shares: make the model batchable, prepare the loss
 * model (opset upgrade, loss head, parameters lifted), and stream the dataset as batches.
 */
import type { Model } from '../../native/onnx/ir.js';
import { prepareBatched } from '../../native/onnx/batchify.js';
import { prepareLossModel, type PrepareOptions, type PreparedModel } from '../../native/autodiff/index.js';
import type { Batch } from '../../native/autodiff/runner.js';
import { tensor } from '../../native/onnx/tensor.js';
import type { LoadedDataset } from '../types.js';
import { AppError } from '../../common/errors.js';
import { conformDataset } from '../../datasets/conform.js';
import { budgetBatch, perSampleActivationBytes } from './memory-budget.js';

export interface DifferentiableSetup {
  /** The model as it runs forward (batch dimension made symbolic where possible), no loss head. */
  model: Model;
  prepared: PreparedModel;
  /** Largest batch the model accepts (1 when a fixed batch size could not be made symbolic). */
  batchSize: number;
  batched: boolean;
  /** Name of the model's data input. */
  input: string;
  /** Notes for the result (e.g. why batching was not possible). */
  notes: string[];
}

export async function setupDifferentiable(
  model: Model,
  dataset: LoadedDataset | null,
  opts: PrepareOptions & { batchSize: number },
): Promise<DifferentiableSetup> {
  if (model.graph.inputs.length !== 1) {
    throw new AppError('BAD_MODEL', `expected a model with one data input, found ${model.graph.inputs.length}`);
  }
  const samples = dataset ? { [model.graph.inputs[0]!.name]: dataset.x.subarray(0, Math.min(3, dataset.count) * sampleSize(dataset)) } : undefined;
  const plan = await prepareBatched(model, samples ? { samples, count: Math.min(3, dataset!.count) } : {});
  // The labels' per-sample shape decides per-position and per-pixel losses (native/autodiff/loss.ts).
  const prepared = await prepareLossModel(plan.model, dataset?.y ? { labelShape: dataset.yShape, ...opts } : opts);
  const notes = plan.batched ? [] : [`runs one sample at a time: ${plan.reason ?? 'fixed batch size'}`];
  const width = prepared.dtype === 'float64' ? 8 : 4;
  const budget = budgetBatch({
    requested: plan.batched ? opts.batchSize : 1,
    perSampleBytes: perSampleActivationBytes(prepared.shapes, width, plan.batched, new Set(prepared.values.keys())),
    parameterBytes: prepared.parameterCount * width,
    what: `the loss graph of this model (${prepared.parameterCount} parameters)`,
  });
  if (budget.note) notes.push(budget.note);
  return { model: plan.model, prepared, batchSize: budget.batchSize, batched: plan.batched, input: prepared.dataInputs[0]!, notes };
}

const sampleSize = (d: LoadedDataset) => d.sampleShape.reduce((a, b) => a * b, 1);

export interface BatchOptions {
  /** Which samples, in order (default all, up to maxSamples). */
  indices?: number[];
  maxSamples?: number;
  /**
   * 'dataset-mean' (default): w_i = 1/M over the M samples used, so sums over batches give the
   * dataset mean loss, gradient and H v exactly. 'sum': w_i = 1.
   */
  weighting?: 'dataset-mean' | 'sum';
  /** Replace labels (e.g. shuffled for a random-label control). */
  labels?: Int32Array | Float32Array;
}

/** The sample indices a batch stream will visit. */
export function sampleIndices(dataset: LoadedDataset, opts: BatchOptions = {}): number[] {
  const all = opts.indices ?? Array.from({ length: dataset.count }, (_, i) => i);
  return opts.maxSamples !== undefined ? all.slice(0, opts.maxSamples) : all;
}

export function* datasetBatches(source: LoadedDataset, setup: DifferentiableSetup, opts: BatchOptions = {}): Generator<Batch> {
  // Reshapes x to the model's per-sample shape when only the layout differs (DATASET_MISMATCH otherwise).
  const dataset = conformDataset(source, setup.model);
  if (!dataset.y) throw new AppError('BAD_DATASET', 'the dataset has no labels (y); this analysis needs them');
  const indices = sampleIndices(dataset, opts);
  const per = sampleSize(dataset);
  const yPer = dataset.yShape.reduce((a, b) => a * b, 1);
  const labels = opts.labels ?? dataset.y;
  const w = opts.weighting === 'sum' ? 1 : 1 / indices.length;
  for (let start = 0; start < indices.length; start += setup.batchSize) {
    const chunk = indices.slice(start, start + setup.batchSize);
    const x = new Float32Array(chunk.length * per);
    const y = labels instanceof Int32Array ? new Int32Array(chunk.length * yPer) : new Float32Array(chunk.length * yPer);
    chunk.forEach((idx, k) => {
      x.set(dataset.x.subarray(idx * per, (idx + 1) * per), k * per);
      y.set(labels.subarray(idx * yPer, (idx + 1) * yPer), k * yPer);
    });
    yield {
      inputs: { [setup.input]: { dtype: 'float32', dims: [chunk.length, ...dataset.sampleShape], data: x } },
      labels: tensor(labels instanceof Int32Array ? 'int64' : 'float32', [chunk.length, ...dataset.yShape], y),
      weights: tensor('float64', [chunk.length], new Array(chunk.length).fill(w)),
    };
  }
}
