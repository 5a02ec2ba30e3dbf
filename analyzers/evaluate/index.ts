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
import { labelLayout, type LabelLayout } from '../../native/onnx/label-layout.js';
import { badParams } from '../../common/errors.js';
import { argmax, bceFromLogit, ClassificationTally, lossKindFor, sampleLoss, type LossKind, type PerClass } from './metrics.js';

export type EvaluateParams = {
  batchSize: number;
  maxSamples?: number;
  loss: 'auto' | 'mse';
  output?: string;
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
  /** The model output evaluated. */
  output: string;
  /**
   * How y relates to the output: `class` (one label per sample), `per-position` (a label per
   * position, classes on the last axis: loss and accuracy are means over positions), `per-pixel`
   * (the same with the classes on axis 1, [N, C, H, W] with y [N, H, W]) or `dense` (a target of
   * the output's shape: per-pixel BCE on a sigmoid map, else MSE).
   */
  labelLayout: LabelLayout;
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
  const output = params.output ?? source.graph.outputs[0]!.name;
  if (!source.graph.outputs.some((o) => o.name === output)) {
    throw badParams(`model has no output "${output}"; its outputs are ${source.graph.outputs.map((o) => o.name).join(', ')}`);
  }
  const outputKind = detectOutputKind(source, output);
  let lossKind = lossKindFor(outputKind, params.loss);
  let layout: LabelLayout | null = null;
  const sigmoidMap = source.graph.nodes.some((n) => n.opType === 'Sigmoid' && n.outputs[0] === output);

  let model = ctx.model;
  if (lossKind === 'binary-cross-entropy' || sigmoidMap) {
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
        if (layout === null) {
          // Decided on the first batch, from the output's real per-sample shape.
          layout = labelLayout(output, out.dims, data.yShape, lossKind === 'mse');
          if (layout === 'dense') lossKind = sigmoidMap ? 'binary-cross-entropy' : 'mse';
          else if (lossKind === 'binary-cross-entropy' && (layout === 'per-position' || layout === 'per-pixel')) {
            throw new AppError('BAD_DATASET', `output "${output}" is a sigmoid, so y needs the output's shape [${out.dims.slice(1)}] (targets in [0, 1]), not class indices per position`);
          }
        }
        if (layout === 'dense' && lossKind === 'binary-cross-entropy') {
          tally ??= new ClassificationTally(2);
          const logits = outputs[LOGIT_OUTPUT]?.data as Float32Array | undefined;
          for (let s = 0; s < count; s++) {
            let loss = 0;
            let right = 0;
            for (let j = 0; j < k; j++) {
              const i = s * k + j;
              const target = y[(start + s) * k + j]!;
              const p = z[i]!;
              loss += logits ? bceFromLogit(logits[i]!, target) : -(target * Math.log(Math.max(p, 1e-45)) + (1 - target) * Math.log(Math.max(1 - p, 1e-45)));
              if (p >= 0.5 === target >= 0.5) right++;
            }
            // One entry per sample: its mean pixel loss, and "correct" when most pixels are.
            tally.add(loss / k, 1, right * 2 > k ? 1 : 0);
          }
          return;
        }
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
        if (layout === 'per-position' || layout === 'per-pixel') {
          const classes = out.dims[layout === 'per-pixel' ? 1 : out.dims.length - 1]!;
          const positions = k / classes;
          tally ??= new ClassificationTally(classes);
          const kind = lossKind as Exclude<LossKind, 'mse' | 'binary-cross-entropy'>;
          // Per pixel, a position's class scores are `positions` apart: gathered into one row first.
          const row = layout === 'per-pixel' ? new Float64Array(classes) : null;
          for (let s = 0; s < count; s++) {
            for (let t = 0; t < positions; t++) {
              const label = classLabel(y, (start + s) * positions + t, classes);
              let scores: ArrayLike<number> = z;
              let offset = (s * positions + t) * classes;
              if (row) {
                for (let c = 0; c < classes; c++) row[c] = z[s * k + c * positions + t]!;
                scores = row;
                offset = 0;
              }
              tally.add(sampleLoss(kind, scores, offset, classes, label), label, argmax(scores, offset, classes));
            }
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
      numClasses: t && layout !== 'dense' ? t.numClasses : null,
      perClassAccuracy: t && layout !== 'dense' ? t.perClass(data.classes) : null,
      confusionMatrix: t && layout !== 'dense' ? t.confusion : null,
      count: total,
      output,
      labelLayout: layout ?? 'class',
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
    { name: 'output', type: 'string', description: 'Which model output to evaluate, for graphs with several (default: the first).' },
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
