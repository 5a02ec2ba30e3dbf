/**
 * The loss head (DESIGN.md): appended to a model so one scalar can be differentiated.
 *   logits             -> cross-entropy  (LogSoftmax, pick the label's entry)
 *   log-probabilities  -> NLL of the output
 *   probabilities      -> NLL of log(output)
 *   sigmoid (one unit) -> binary cross-entropy, computed stably from the logit: softplus(z) - y z
 *   mse                -> mean over non-batch dims of (output - y)^2
 * Outputs that are not one class vector, told apart by the labels' per-sample shape:
 *   y shaped like the output without its last dim ([N,T,C] with y [N,T]): the class loss above
 *     at every position (last axis = classes), averaged over positions (CTC-style recognizers
 *     trained per position; sequence taggers);
 *   y shaped like the output without its dim 1 ([N,C,H,W] with y [N,H,W], segmentation nets):
 *     the same per pixel, the classes moved last first (Transpose);
 *   y shaped like the output (dense maps): per-pixel BCE on a sigmoid map, MSE otherwise,
 *     averaged over pixels;
 *   one label per sample for an output with several non-unit dims: BAD_DATASET naming the
 *     label shapes that would fit (never a silent loss over the flattened output).
 * Per-sample losses are reduced to the scalar `loss` by a mean, or by a weighted sum
 * with a `weights` input (streaming a dataset in batches: w_i = 1/N gives the dataset mean).
 */
import { GraphBuilder } from '../onnx/builder.js';
import { cloneModel, onnxOpset, type Model } from '../onnx/ir.js';
import { detectOutputKind } from '../onnx/output-kind.js';
import { badParams } from '../../common/errors.js';
import { labelLayout } from '../onnx/label-layout.js';
import type { DType } from '../onnx/dtype.js';

export type LossKind = 'cross-entropy' | 'nll' | 'nll-of-probabilities' | 'binary-cross-entropy' | 'mse';

export interface LossOptions {
  /** 'auto' follows the output kind; 'mse' for regression. */
  loss?: 'auto' | 'mse';
  /** Which model output; default the first. */
  output?: string;
  /** Adds a `weights` input (one per sample) and sums w_i * l_i instead of taking the mean. */
  weighted?: boolean;
  /** Dims of the output (null = follows the batch), when the model does not declare them: mse labels take this shape. */
  outputDims?: (number | null)[];
  /** Per-sample shape of the labels ([] or absent: one class index per sample); see the header. */
  labelShape?: number[];
}

export interface LossGraph {
  model: Model;
  lossKind: LossKind;
  /** Scalar loss output. */
  loss: string;
  /** Per-sample losses output, shape [N]. */
  sampleLosses: string;
  labels: string;
  labelsDType: DType;
  weights?: string;
  /** The model output the loss reads. */
  output: string;
}

export const LOSS_OUTPUT = 'loss';
export const SAMPLE_LOSSES_OUTPUT = 'sample_losses';
export const LABELS_INPUT = 'labels';
export const WEIGHTS_INPUT = 'weights';

export function attachLoss(source: Model, opts: LossOptions = {}): LossGraph {
  const model = cloneModel(source);
  const g = model.graph;
  const output = opts.output ?? g.outputs[0]!.name;
  const outInfo = g.outputs.find((o) => o.name === output);
  if (!outInfo) throw badParams(`model has no output "${output}"`);
  const dtype = outInfo.dtype;
  const b = new GraphBuilder(g, onnxOpset(model), 'loss');
  const kind = detectOutputKind(model);
  let lossKind: LossKind;
  let perSample: string;
  let labelsDType: DType;
  const flat = b.op('Flatten', [output], { axis: 1 });

  const outDims = opts.outputDims ?? outInfo.shape;
  const layout = labelLayout(output, outDims, opts.labelShape ?? [], opts.loss === 'mse');
  const sigmoidNode = g.nodes.find((n) => n.outputs[0] === output && n.opType === 'Sigmoid');

  if (opts.loss === 'mse' || (layout === 'dense' && !sigmoidNode)) {
    lossKind = 'mse';
    labelsDType = dtype;
    const dims = outDims;
    if (!dims) throw badParams(`the shape of output "${output}" is unknown; mse labels need it`);
    b.addInput({ name: LABELS_INPUT, dtype, shape: dims.map((d, i) => (typeof d === 'number' ? d : `d${i}`)) });
    const diff = b.sub(flat, b.op('Flatten', [LABELS_INPUT], { axis: 1 }));
    perSample = b.reduce('ReduceMean', b.mul(diff, diff), [1], false);
  } else if (layout === 'dense') {
    // Per-pixel BCE from the logit, stably: softplus(z) - y z, averaged over the map.
    lossKind = 'binary-cross-entropy';
    labelsDType = dtype;
    b.addInput({ name: LABELS_INPUT, dtype, shape: outDims!.map((d, i) => (typeof d === 'number' ? d : `d${i}`)) });
    const y = b.op('Flatten', [LABELS_INPUT], { axis: 1 });
    const z = b.op('Flatten', [sigmoidNode!.inputs[0]!], { axis: 1 });
    perSample = b.reduce('ReduceMean', b.sub(b.op('Softplus', [z]), b.mul(y, z)), [1], false);
  } else if (layout === 'per-position' || layout === 'per-pixel') {
    // [N, ..., C] with labels [N, ...]: positions flattened, one class loss per position, mean per sample.
    // Per pixel ([N, C, ...]) the classes are moved last first.
    labelsDType = 'int64';
    const labelShape = opts.labelShape!;
    const positions = labelShape.reduce((a, d) => a * d, 1);
    const rank = outDims!.length;
    const classes = outDims![layout === 'per-pixel' ? 1 : rank - 1] as number;
    b.addInput({ name: LABELS_INPUT, dtype: 'int64', shape: ['N', ...labelShape] });
    const classesLast =
      layout === 'per-pixel' ? b.op('Transpose', [output], { perm: [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1] }) : output;
    const rows = b.op('Reshape', [classesLast, b.int64s([-1, classes])]);
    let logp: string;
    if (kind === 'log-probabilities') {
      lossKind = 'nll';
      logp = rows;
    } else if (kind === 'probabilities') {
      lossKind = 'nll-of-probabilities';
      logp = b.op('Log', [rows]);
    } else {
      lossKind = 'cross-entropy';
      logp = b.op('LogSoftmax', [rows], { axis: 1 });
    }
    const picked = b.op('GatherElements', [logp, b.op('Reshape', [LABELS_INPUT, b.int64s([-1, 1])])], { axis: 1 });
    const perPosition = b.op('Reshape', [b.neg(picked), b.int64s([-1, positions])]);
    perSample = b.reduce('ReduceMean', perPosition, [1], false);
  } else if (kind === 'sigmoid') {
    lossKind = 'binary-cross-entropy';
    labelsDType = dtype;
    b.addInput({ name: LABELS_INPUT, dtype, shape: ['N'] });
    const producer = g.nodes.find((n) => n.outputs[0] === output && n.opType === 'Sigmoid');
    const y = b.op('Reshape', [LABELS_INPUT, b.int64s([-1, 1])]);
    let terms: string;
    if (producer) {
      const z = b.op('Flatten', [producer.inputs[0]!], { axis: 1 });
      terms = b.sub(b.op('Softplus', [z]), b.mul(y, z));
    } else {
      const one = b.scalar(1, dtype);
      terms = b.neg(b.add(b.mul(y, b.op('Log', [flat])), b.mul(b.sub(one, y), b.op('Log', [b.sub(one, flat)]))));
    }
    perSample = b.reduceSum(terms, [1], false);
  } else {
    labelsDType = 'int64';
    b.addInput({ name: LABELS_INPUT, dtype: 'int64', shape: ['N'] });
    let logp: string;
    if (kind === 'log-probabilities') {
      lossKind = 'nll';
      logp = flat;
    } else if (kind === 'probabilities') {
      lossKind = 'nll-of-probabilities';
      logp = b.op('Log', [flat]);
    } else {
      lossKind = 'cross-entropy';
      logp = b.op('LogSoftmax', [flat], { axis: 1 });
    }
    const picked = b.op('GatherElements', [logp, b.unsqueeze(LABELS_INPUT, [1])], { axis: 1 });
    perSample = b.neg(b.squeeze(picked, [1]));
  }

  g.nodes.push({ opType: 'Identity', domain: '', name: b.fresh('out'), inputs: [perSample], outputs: [SAMPLE_LOSSES_OUTPUT], attrs: {} });
  let total: string;
  let weights: string | undefined;
  if (opts.weighted) {
    weights = b.addInput({ name: WEIGHTS_INPUT, dtype, shape: ['N'] });
    total = b.reduceSum(b.mul(SAMPLE_LOSSES_OUTPUT, WEIGHTS_INPUT), null, false);
  } else {
    total = b.reduce('ReduceMean', SAMPLE_LOSSES_OUTPUT, null, false);
  }
  g.nodes.push({ opType: 'Identity', domain: '', name: b.fresh('out'), inputs: [total], outputs: [LOSS_OUTPUT], attrs: {} });
  g.outputs = [
    { name: LOSS_OUTPUT, dtype, shape: [] },
    { name: SAMPLE_LOSSES_OUTPUT, dtype, shape: ['N'] },
    ...g.outputs,
  ];
  return {
    model,
    lossKind,
    loss: LOSS_OUTPUT,
    sampleLosses: SAMPLE_LOSSES_OUTPUT,
    labels: LABELS_INPUT,
    labelsDType,
    ...(weights ? { weights } : {}),
    output,
  };
}

