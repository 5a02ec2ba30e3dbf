/**
 * The autodiff's front door: prepare a model for differentiation (opset upgrade, support
 * check, loss head, parameters lifted to inputs, shape probe) and derive graphs from it.
 */
import './rules/index.js';
import { AppError } from '../../common/errors.js';
import type { Model } from '../onnx/ir.js';
import type { Tensor } from '../onnx/tensor.js';
import { upgradeOpset } from '../onnx/upgrade.js';
import { compositeRefusals } from '../onnx/decompose.js';
import { canRunInFloat64, toFloat64 } from '../onnx/precision.js';
import { unsupportedOps } from './registry.js';
import { attachLoss, type LossKind, type LossOptions } from './loss.js';
import { liftParameters, selectParameters, type ParameterFilter } from './params.js';
import { probeShapes, type ShapeMap } from './shapes.js';
import { buildGradient, type GradientGraph } from './gradient.js';
import { buildHvp, type HvpGraph } from './hvp.js';
import { prune } from './prune.js';
import { eliminateCommonSubexpressions } from './optimize.js';

export { unsupportedOps, supportedOps } from './registry.js';

/**
 * Throws UNSUPPORTED_OP naming every op of the model without a rule, and why composite ops
 * (decompose.ts) were left unexpanded.
 */
export function assertSupported(model: Model): void {
  const missing = unsupportedOps(model);
  if (missing.length > 0) {
    const why = compositeRefusals(model).map(({ node, reason }) => `${node.opType} "${node.name}" not expanded: ${reason}`);
    const detail = why.length > 0 ? ` (${why.join('; ')})` : '';
    throw new AppError('UNSUPPORTED_OP', `the autodiff has no rule for: ${missing.join(', ')}${detail}`, { ops: missing });
  }
}

/**
 * The model in the form the rules expect: opset-18 op forms, composites expanded. A fresh copy
 * (upgradeOpset never changes its source), refused with UNSUPPORTED_OP when an op has no rule.
 */
function differentiable(source: Model): Model {
  const model = upgradeOpset(source);
  assertSupported(model);
  return model;
}

/**
 * Outputs whose shape the file leaves open get it from a probe: the loss head needs the
 * number of units (a single sigmoid unit means binary cross-entropy) and the label shape.
 */
async function declareOutputShapes(model: Model): Promise<void> {
  // Symbolic dims beyond the batch (a map's H x W, a sequence's T) are probed too: the loss
  // head tells per-position and per-pixel labels apart by the output's per-sample shape.
  const open = (o: Model['graph']['outputs'][number]) => !o.shape || o.untyped || o.shape.slice(1).some((d) => typeof d !== 'number');
  if (!model.graph.outputs.some(open)) return;
  const base = await probeShapes(model);
  for (const o of model.graph.outputs) {
    const dims = base.get(o.name)?.dims;
    if (dims && open(o)) {
      o.shape = dims.map((d, i) => d ?? (i === 0 ? 'N' : `d${i}`));
      o.dtype = base.get(o.name)!.dtype;
      o.untyped = false;
    }
  }
}

export interface PrepareOptions extends LossOptions {
  parameters?: ParameterFilter;
  /** 'auto' (default): float64 when ONNX Runtime's CPU provider has every kernel, else float32. */
  precision?: 'auto' | 'float32' | 'float64';
}

export interface PreparedModel {
  /** Loss model: original graph + loss head, parameters as graph inputs. */
  model: Model;
  /** The data input(s) of the original model. */
  dataInputs: string[];
  labels: string;
  weights?: string;
  loss: string;
  sampleLosses: string;
  lossKind: LossKind;
  params: string[];
  values: Map<string, Tensor>;
  parameterCount: number;
  dtype: 'float32' | 'float64';
  shapes: ShapeMap;
}

export async function prepareLossModel(source: Model, opts: PrepareOptions = {}): Promise<PreparedModel> {
  let model = differentiable(source);
  const wide = opts.precision === 'float64' || ((opts.precision ?? 'auto') === 'auto' && canRunInFloat64(model));
  if (wide) model = toFloat64(model);
  const dataInputs = model.graph.inputs.map((v: { name: string }) => v.name);
  await declareOutputShapes(model);
  const head = attachLoss(model, { weighted: true, ...opts });
  const params = selectParameters(head.model, opts.parameters);
  const lifted = liftParameters(head.model, params);
  prune(lifted.model);
  const shapes = await probeShapes(lifted.model);
  return {
    model: lifted.model,
    dataInputs,
    labels: head.labels,
    ...(head.weights ? { weights: head.weights } : {}),
    loss: head.loss,
    sampleLosses: head.sampleLosses,
    lossKind: head.lossKind,
    params,
    values: lifted.values,
    parameterCount: params.reduce((s, p) => s + lifted.values.get(p)!.data.length, 0),
    dtype: wide ? 'float64' : 'float32',
    shapes,
  };
}

/** d loss / d parameters (all, or a subset). Outputs: loss, sample_losses, grad/<param>. */
export function parameterGradientGraph(p: PreparedModel, wrt: string[] = p.params): GradientGraph {
  const g = buildGradient(p.model, { of: p.loss, wrt }, p.shapes);
  eliminateCommonSubexpressions(g.model);
  return g;
}

/**
 * Exact H v of the loss w.r.t. the parameters; also outputs the loss and gradient unless
 * `productsOnly` (then H v alone, a smaller graph); `probes` k products per run (buildHvp).
 */
export async function hvpGraph(p: PreparedModel, wrt: string[] = p.params, opts: { productsOnly?: boolean; probes?: number } = {}): Promise<HvpGraph> {
  return buildHvp(p.model, p.loss, wrt, { shapes: p.shapes, ...opts });
}

/**
 * Gradient of <seed, tensor> for any tensor of a model (an output, an intermediate layer),
 * with respect to any tensors (the input, intermediates): saliency and input-gradient uses.
 * The seed is a graph input named `seed/<of>` with the tensor's shape. Also outputs `of`
 * itself and every `wrt` (so callers get activations in the same run).
 */
export async function vjpGraph(
  source: Model,
  of: string,
  wrt: string[],
  opts: { upgrade?: boolean } = {},
): Promise<{ model: Model; seed: string; grads: Map<string, string> }> {
  const model = opts.upgrade === false ? source : differentiable(source);
  if (opts.upgrade === false) assertSupported(model);
  const shapes = await probeShapes(model);
  const seed = `seed/${of}`;
  const g = buildGradient(model, { of, seed, wrt }, shapes);
  const exposed = new Set(g.model.graph.outputs.map((o) => o.name));
  for (const name of [of, ...wrt]) {
    if (!exposed.has(name)) {
      const info = shapes.get(name)!;
      g.model.graph.outputs.push({ name, dtype: info.dtype, shape: info.dims.map((d, i) => d ?? `d${i}`) });
    }
  }
  prune(g.model);
  return { model: g.model, seed, grads: g.grads };
}

export interface InputGradientGraph {
  /** Model + loss head + d loss / d input. Feed weights = 1 for per-sample gradients. */
  model: Model;
  input: string;
  grad: string;
  labels: string;
  weights: string;
  sampleLosses: string;
  /** The model's own output (logits or probabilities), also an output of this graph. */
  output: string;
  lossKind: LossKind;
}

/**
 * The per-sample loss and its gradient with respect to the model's data input (parameters stay
 * constants): what blind-spot traversal and adversarial falsification step along.
 */
export async function inputGradientGraph(source: Model, opts: LossOptions = {}): Promise<InputGradientGraph> {
  const model = differentiable(source);
  if (model.graph.inputs.length !== 1) {
    throw new AppError('BAD_MODEL', `expected one data input, found ${model.graph.inputs.length}`);
  }
  const input = model.graph.inputs[0]!.name;
  await declareOutputShapes(model);
  const head = attachLoss(model, { weighted: true, ...opts });
  const shapes = await probeShapes(head.model);
  const g = buildGradient(head.model, { of: head.loss, wrt: [input] }, shapes);
  prune(g.model);
  return {
    model: g.model,
    input,
    grad: g.grads.get(input)!,
    labels: head.labels,
    weights: head.weights!,
    sampleLosses: head.sampleLosses,
    output: head.output,
    lossKind: head.lossKind,
  };
}
