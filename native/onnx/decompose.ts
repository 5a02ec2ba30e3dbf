/**
 * Composite ops expanded into primitives the autodiff already differentiates, so they need no
 * rules of their own (one rule per primitive, not per composite):
 *
 *   NegativeLogLikelihoodLoss(input [N, C, d...], target [N, d...], weight? [C]):
 *     t' = target with ignore_index replaced by 0;  w_i = weight[t'_i] (1 without weights),
 *     0 where target = ignore_index;  l_i = -w_i input[i, t'_i, d...]
 *     reduction none: l;  sum: sum l;  mean: sum l / sum w   (ONNX operator spec)
 *   SoftmaxCrossEntropyLoss(scores, labels, weights?) = NLL(LogSoftmax(scores, axis 1), ...),
 *     its optional second output being the log-probabilities.
 *   Mean(x1, ..., xn) = Sum(x1, ..., xn) / n  (same broadcasting).
 *   RNN, GRU, LSTM: unrolled over time (decompose-rnn.ts), when the sequence length is static.
 *   GridSample: taps gathered with GatherElements and weighted (decompose-gridsample.ts).
 *
 * An expander may refuse a node (REFUSALS): it then stays as it is and, having no rule, is
 * reported by the autodiff as unsupported (registry.ts asks compositeRefusals).
 *
 * Runs at the end of the opset upgrade, on opset >= 18 graphs.
 */
import { GraphBuilder } from './builder.js';
import { attrInt, attrString, onnxOpset, type Graph, type Model, type Node } from './ir.js';
import { tensor } from './tensor.js';
import type { DType } from './dtype.js';
import { staticShapes } from './static-shapes.js';
import { expandRecurrent, recurrentRefusal, type GraphFacts } from './decompose-rnn.js';
import { expandGridSample, gridSampleRefusal } from './decompose-gridsample.js';

type Expander = (b: GraphBuilder, n: Node, facts: GraphFacts) => void;

const identity = (b: GraphBuilder, from: string, to: string) =>
  b.graph.nodes.push({ opType: 'Identity', domain: '', name: b.fresh('decomposed'), inputs: [from], outputs: [to], attrs: {} });

/** The NLL of `logp` (already log-probabilities), written to `out`. */
function nll(b: GraphBuilder, n: Node, logp: string, target: string, weight: string | undefined, dtype: DType, out: string): void {
  const ignore = n.attrs.ignore_index ? attrInt(n, 'ignore_index') : undefined;
  let safe = target;
  let valid: string | null = null;
  if (ignore !== undefined) {
    const isIgnored = b.op('Equal', [target, b.constant(tensor('int64', [], [ignore]), 'ignore_index')]);
    safe = b.op('Where', [isIgnored, b.constant(tensor('int64', [], [0]), 'zero'), target]);
    valid = b.cast(b.op('Not', [isIgnored]), dtype);
  }
  const picked = b.squeeze(b.op('GatherElements', [logp, b.unsqueeze(safe, [1])], { axis: 1 }), [1]);
  let w: string | null = weight ? b.op('Gather', [weight, safe], { axis: 0 }) : null;
  if (valid) w = w ? b.mul(w, valid) : valid;
  const losses = b.neg(w ? b.mul(picked, w) : picked);
  const reduction = attrString(n, 'reduction', 'mean');
  let result: string;
  if (reduction === 'none') result = losses;
  else if (reduction === 'sum') result = b.reduceSum(losses, null, false);
  else result = w ? b.div(b.reduceSum(losses, null, false), b.reduceSum(w, null, false)) : b.reduce('ReduceMean', losses, null, false);
  identity(b, result, out);
}

const EXPANDERS: Record<string, Expander> = {
  Mean(b, n, { dtypeOf }) {
    const sum = n.inputs.length === 1 ? n.inputs[0]! : b.op('Sum', n.inputs);
    identity(b, b.div(sum, b.scalar(n.inputs.length, dtypeOf(n.inputs[0]!))), n.outputs[0]!);
  },
  NegativeLogLikelihoodLoss(b, n, { dtypeOf }) {
    const [input, target, weight] = n.inputs as [string, string, string | undefined];
    nll(b, n, input, target, weight || undefined, dtypeOf(input), n.outputs[0]!);
  },
  SoftmaxCrossEntropyLoss(b, n, { dtypeOf }) {
    const [scores, labels, weights] = n.inputs as [string, string, string | undefined];
    const logp = b.op('LogSoftmax', [scores], { axis: 1 });
    if (n.outputs[1]) identity(b, logp, n.outputs[1]);
    nll(b, n, logp, labels, weights || undefined, dtypeOf(scores), n.outputs[0]!);
  },
  RNN: expandRecurrent,
  GRU: expandRecurrent,
  LSTM: expandRecurrent,
  GridSample: expandGridSample,
};

/** Why a composite node cannot be expanded (null: it can). Composites not listed always can. */
const REFUSALS: Record<string, (n: Node, facts: GraphFacts) => string | null> = {
  RNN: recurrentRefusal,
  GRU: recurrentRefusal,
  LSTM: recurrentRefusal,
  GridSample: gridSampleRefusal,
};

export const COMPOSITE_OPS: ReadonlySet<string> = new Set(Object.keys(EXPANDERS));

const isComposite = (n: Node) => COMPOSITE_OPS.has(n.opType) && (n.domain === '' || n.domain === 'ai.onnx');

/**
 * Facts about the graph as it is now: a snapshot of its node list, since expansion swaps
 * g.nodes while it emits (shapes and Constant nodes must still be found then).
 */
function graphFacts(g: Graph, opset: number, dtypeOf: (name: string) => DType): GraphFacts {
  const view: Graph = { ...g, nodes: [...g.nodes] };
  let shapes: ReturnType<typeof staticShapes> | undefined;
  return {
    graph: view,
    opset,
    dtypeOf,
    dims: (name) => (shapes ??= staticShapes(view)).get(name),
  };
}

function refusals(nodes: Node[], facts: GraphFacts): { node: Node; reason: string }[] {
  const out: { node: Node; reason: string }[] = [];
  for (const n of nodes) {
    const reason = isComposite(n) ? REFUSALS[n.opType]?.(n, facts) : null;
    if (reason) out.push({ node: n, reason });
  }
  return out;
}

/** Composite nodes of the model that stay unexpanded, with the reason (empty when all expand). */
export function compositeRefusals(model: Model): { node: Node; reason: string }[] {
  const g = model.graph;
  if (!g.nodes.some((n) => isComposite(n) && REFUSALS[n.opType])) return [];
  // Refusal checks read shapes and constants only; dtypes do not matter to them.
  return refusals(g.nodes, graphFacts(g, onnxOpset(model), () => 'float32'));
}

/**
 * Replaces every composite op by its primitives, in place of the node (topological order kept).
 * Nodes an expander refuses are kept as they are.
 */
export function expandCompositeOps(model: Model, dtypeOf: (name: string) => DType): Model {
  const g = model.graph;
  if (!g.nodes.some(isComposite)) return model;
  const facts = graphFacts(g, onnxOpset(model), dtypeOf);
  // Decided on the graph as the file has it, before any node is replaced.
  const refused = new Set(refusals(g.nodes, facts).map((r) => r.node));
  const b = new GraphBuilder(g, onnxOpset(model), 'expand');
  const nodes: Node[] = [];
  const original = g.nodes;
  for (const n of original) {
    const expand = isComposite(n) && !refused.has(n) ? EXPANDERS[n.opType] : undefined;
    if (!expand) {
      nodes.push(n);
      continue;
    }
    g.nodes = [];
    expand(b, n, facts);
    nodes.push(...g.nodes);
  }
  g.nodes = nodes;
  return model;
}
