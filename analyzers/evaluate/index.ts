/**
 * evaluate: loss and accuracy of a model over a labelled dataset (DESIGN.md loss conventions),
 * with the runtime facts people ask next: throughput, batch size, whether the fixed-batch model
 * could be batched, whether the input was reshaped.
 */
import type { Analyzer, AnalyzerContext } from '../types.js';
import { AppError } from '../../common/errors.js';
import { cloneModel, serializeModel, type Model } from '../../native/onnx/ir.js';
import { detectOutputKind, type OutputKind } from '../../native/onnx/output-kind.js';
import { openRunner } from '../../native/runtime/runner.js';
import { forEachBatch } from '../../native/runtime/batches.js';
import { runtimeInfo } from '../../native/runtime/session.js';
import { conformDataset, type ConformedDataset } from '../../datasets/conform.js';
import { argmax, bceFromLogit, ClassificationTally, lossKindFor, sampleLoss, type LossKind, type PerClass } from './metrics.js';

export type EvaluateParams = {
  batchSize: number;
  maxSamples?: number;
  loss: 'auto' | 'mse';
};

export interface EvaluateResult {
  lossKind: LossKind;
  outputKind: OutputKind;
  /** Mean loss over the evaluated samples (float64). */
  loss: number;
  /** null for regression (mse). */
  accuracy: number | null;
  correct: number | null;
  numClasses: number | null;
  perClassAccuracy: PerClass[] | null;
  /** confusionMatrix[true][predicted]; null for regression. */
  confusionMatrix: number[][] | null;
  /** Samples evaluated. */
  count: number;
  /** Samples per second through the model and the loss, excluding session setup. */
  throughput: number;
  /** Wall time of the streaming loop, ms. */
  runMs: number;
  batchSize: number;
  /** False when the model kept a fixed batch of 1 and samples ran one at a time. */
  batched: boolean;
  batchingNote: string | null;
  reshapedInput: boolean;
  /** Per-sample input shape fed to the model, and the dataset's as stored. */
  inputShape: number[];
  datasetSampleShape: number[];
  provider: string | null;
}

const LOGIT_OUTPUT = 'onnxscope_sigmoid_logit';

/**
 * For a sigmoid head, expose the sigmoid's input too: BCE from the logit is exact, from a
 * float32 probability that rounded to 1 it is not.
 */
function withSigmoidLogit(model: Model, output: string): Model | null {
  const node = model.graph.nodes.find((n) => n.opType === 'Sigmoid' && n.outputs[0] === output);
  const info = model.graph.outputs.find((o) => o.name === output);
  if (!node || !info) return null;
  const m = cloneModel(model);
  m.graph.nodes.push({ opType: 'Identity', domain: '', name: `${LOGIT_OUTPUT}_node`, inputs: [node.inputs[0]!], outputs: [LOGIT_OUTPUT], attrs: {} });
  // Sigmoid is elementwise: the logit has the output's shape and type.
  m.graph.outputs.push({ ...info, name: LOGIT_OUTPUT, shape: info.shape ? [...info.shape] : null });
  return m;
}

function classLabel(y: Int32Array | Float32Array, i: number, numClasses: number): number {
  const v = y[i]!;
  if (!Number.isInteger(v) || v < 0 || v >= numClasses) {
    throw new AppError('BAD_DATASET', `label y[${i}] = ${v} is not a class index in 0..${numClasses - 1} (the model has ${numClasses} outputs)`, { sample: i });
  }
  return v;
}

async function run(ctx: AnalyzerContext<EvaluateParams>): Promise<EvaluateResult> {
  const { params, signal } = ctx;
  if (!ctx.dataset) throw new AppError('BAD_DATASET', 'evaluate needs a dataset');
  if (!ctx.dataset.y) throw new AppError('BAD_DATASET', 'evaluate needs labels (y) in the dataset');
  const data: ConformedDataset = conformDataset(ctx.dataset, ctx.model.ir);
  const y = data.y!;
  const source = ctx.model.ir;
  const output = source.graph.outputs[0]!.name;
  const outputKind = detectOutputKind(source, output);
  const lossKind = lossKindFor(outputKind, params.loss);

  let model = ctx.model;
  if (lossKind === 'binary-cross-entropy') {
    const m = withSigmoidLogit(source, output);
    if (m) {
      const bytes = serializeModel(m);
      model = { sha256: `${ctx.model.sha256}:sigmoid-logit`, bytes, ir: m };
    }
  }

  const total = Math.min(data.count, params.maxSamples ?? data.count);
  const per = data.sampleShape.reduce((a, b) => a * b, 1);
  ctx.progress(0, 'preparing the model');
  const runner = await openRunner(model, {
    sampleShape: data.sampleShape,
    verifySamples: data.count >= 2 ? data.x.subarray(0, Math.min(3, data.count) * per) : undefined,
  });
  try {
    const yPer = y.length / data.count;
    let tally: ClassificationTally | null = null;
    let mseSum = 0;
    const t0 = performance.now();
    await forEachBatch(
      runner,
      data,
      ({ start, count, outputs }) => {
        const out = outputs[output]!;
        const k = out.data.length / count;
        const z = out.data as Float32Array | Float64Array;
        if (lossKind === 'mse') {
          if (yPer !== k) {
            throw new AppError('DATASET_MISMATCH', `mse needs y shaped like the model output: y has ${yPer} values per sample (shape [${data.yShape}]), the output has ${k} (shape [${out.dims.slice(1)}])`);
          }
          for (let s = 0; s < count; s++) {
            let sq = 0;
            for (let j = 0; j < k; j++) {
              const d = z[s * k + j]! - y[(start + s) * k + j]!;
              sq += d * d;
            }
            mseSum += sq / k;
          }
          return;
        }
        if (yPer !== 1) throw new AppError('DATASET_MISMATCH', `classification needs one label per sample; y has shape [${data.yShape}] per sample`);
        if (lossKind === 'binary-cross-entropy') {
          tally ??= new ClassificationTally(2);
          const logits = outputs[LOGIT_OUTPUT]?.data as Float32Array | undefined;
          for (let s = 0; s < count; s++) {
            const label = classLabel(y, start + s, 2);
            const p = z[s]!;
            // Without the logit (sigmoid not directly on the output) fall back to clamped logs.
            const loss = logits ? bceFromLogit(logits[s]!, label) : -(label * Math.log(Math.max(p, 1e-45)) + (1 - label) * Math.log(Math.max(1 - p, 1e-45)));
            tally.add(loss, label, p >= 0.5 ? 1 : 0);
          }
          return;
        }
        tally ??= new ClassificationTally(k);
        for (let s = 0; s < count; s++) {
          const label = classLabel(y, start + s, k);
          tally.add(sampleLoss(lossKind, z, s * k, k, label), label, argmax(z, s * k, k));
        }
      },
      {
        batchSize: params.batchSize,
        maxSamples: total,
        signal,
        progress: (f, m) => ctx.progress(f, m),
      },
    );
    const runMs = performance.now() - t0;
    const t = tally as ClassificationTally | null;
    return {
      lossKind,
      outputKind,
      loss: t ? t.lossSum / t.count : mseSum / total,
      accuracy: t ? t.correct / t.count : null,
      correct: t ? t.correct : null,
      numClasses: t ? t.numClasses : null,
      perClassAccuracy: t ? t.perClass(data.classes) : null,
      confusionMatrix: t ? t.confusion : null,
      count: total,
      throughput: total / (runMs / 1000),
      runMs,
      batchSize: params.batchSize,
      batched: runner.batched,
      batchingNote: runner.plan.reason ?? (runner.plan.changes.length > 0 ? runner.plan.changes.join('; ') : null),
      reshapedInput: data.reshapedInput,
      inputShape: data.sampleShape,
      datasetSampleShape: data.originalSampleShape,
      provider: runtimeInfo().providerInUse,
    };
  } finally {
    runner.close();
  }
}

export const evaluateAnalyzer: Analyzer<EvaluateParams, EvaluateResult> = {
  name: 'evaluate',
  version: 1,
  description: 'Loss (cross-entropy, NLL, BCE or MSE), accuracy, per-class accuracy and confusion matrix over a dataset, with throughput and batching facts.',
  needsDataset: true,
  params: [
    { name: 'batchSize', type: 'int', description: 'Samples per runtime call.', default: 64, min: 1, max: 4096 },
    { name: 'maxSamples', type: 'int', description: 'Evaluate only the first N samples (default: all).', min: 1 },
    {
      name: 'loss',
      type: 'enum',
      description: "'auto' follows the output (cross-entropy on logits, NLL on (log-)probabilities, BCE on one sigmoid unit); 'mse' for regression.",
      default: 'auto',
      choices: ['auto', 'mse'],
    },
  ],
  run,
};

export default evaluateAnalyzer;
