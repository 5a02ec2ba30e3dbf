/**
 * Raises a model's ai.onnx opset to 18 by rewriting every op whose signature or semantics
 * changed between opsets 1 and 18 into its opset-18 form, so the autodiff (and its rules) see
 * one form per op. Each rewrite computes exactly what the old op computed:
 *
 *   Softmax / LogSoftmax / Hardmax < 13   the old op coerced its input to 2-D at `axis` (default 1)
 *                                         and normalized over the second dim: Flatten(axis) ->
 *                                         op(axis=-1) -> Reshape(Shape(x)).
 *   ReduceSum < 13, other Reduce* < 18    `axes` attribute -> int64 input.
 *   Squeeze / Unsqueeze < 13              `axes` attribute -> input.
 *   Split < 13                            `split` attribute -> input; none -> num_outputs (18 needs one).
 *   Split 13..17 without split input      num_outputs = number of outputs.
 *   Slice < 10                            starts / ends / axes attributes -> inputs.
 *   Pad < 11                              pads (`paddings` at opset 1) / value attributes -> inputs.
 *   Clip < 11                             min / max attributes -> scalar inputs.
 *   Dropout < 12                          inference: Identity. When its mask output is read, Dropout 12
 *                                         with a ratio input (opsets 7..9 left that mask unspecified in
 *                                         inference; 12 fills it with true).
 *   BatchNormalization < 9 / < 14         spatial, consumed_inputs, is_test dropped; training-only
 *                                         outputs dropped when unused; spatial=0 (per-activation
 *                                         statistics, constant) folded into Mul + Add.
 *   Upsample (7..9), Resize 10            Resize with coordinate_transformation_mode=asymmetric and
 *                                         nearest_mode=floor (the old index rule: x_in = x_out / scale).
 *   Scatter (9..10)                       ScatterElements (same semantics, renamed at 11).
 *   ImageScaler (experimental, < 10)      Mul(x, scale) + Add(bias as [1, C, 1, 1]).
 *   TopK < 10                             k attribute -> input.
 *   Reshape < 5                           shape attribute -> input.
 *   Concat < 4                            axis defaulted to 1.
 *   Gemm, Add/Sub/Mul/Div, Pow, PRelu... < 7   broadcast attr dropped; a legacy `axis` broadcast
 *                                         (B aligned at `axis`, not at the end) gets B reshaped with
 *                                         trailing 1s (needs the rank of A, from shapes or inference).
 *   PRelu < 7                             a 1-D slope was per channel (axis 1): reshaped to [C, 1, ...].
 *   consumed_inputs (opset < 6)           dropped everywhere.
 * GridSample-16 is kept as it is (valid at 18; its bilinear/bicubic spellings are read by the
 * expansion in decompose-gridsample.ts, which knows the model's opset).
 * Ops that did not change (Conv, MaxPool, AveragePool, Gemm >= 7, ...) are copied; their newer
 * attributes have defaults equal to the old behaviour. Graphs with subgraphs (If/Loop/Scan) below
 * the target are refused (UNSUPPORTED_OP): their bodies would need the same rewrite, and the
 * autodiff has no rules for control flow anyway. Models at opset > 18 are kept as they are
 * (forms from 18 stay valid). The IR version is raised to at least 8 (opset 18 needs it).
 */
import { cloneModel, onnxOpset, type Graph, type Model, type Node } from './ir.js';
import { expandCompositeOps } from './decompose.js';
import { liftConstantWeights } from './lift-constants.js';
import { Emitter, TypeFacts, unsupported, without, type UpgradeContext } from './upgrade-context.js';
import { upgradeAdapterFor } from './upgrade-adapters.js';

export const TARGET_OPSET = 18;
const MIN_IR_VERSION = 8;

/** Which tensors any node or graph output reads. */
function consumedNames(g: Graph): Set<string> {
  const used = new Set<string>(g.outputs.map((o) => o.name));
  for (const n of g.nodes) for (const i of n.inputs) used.add(i);
  return used;
}

const isDefaultDomain = (n: Node) => n.domain === '' || n.domain === 'ai.onnx';

/**
 * Upgrades `source` to `target` (default 18). Returns a new model; `source` is not changed.
 * Throws UNSUPPORTED_OP for legacy forms that have no exact modern equivalent here.
 */
export function upgradeOpset(source: Model, target = TARGET_OPSET): Model {
  if (target < TARGET_OPSET) throw new Error(`upgradeOpset: target ${target} is below ${TARGET_OPSET} (the rewrites produce opset-18 forms)`);
  const from = onnxOpset(source);
  const model = cloneModel(source);
  model.irVersion = Math.max(model.irVersion, MIN_IR_VERSION);
  if (from >= target) return expandComposites(model);
  const g = model.graph;
  const withSubgraph = g.nodes.find((n) => Object.values(n.attrs).some((a) => a.kind === 'graph' || a.kind === 'graphs'));
  if (withSubgraph) unsupported(withSubgraph, `subgraphs (If/Loop/Scan) are not upgraded from opset ${from}`);
  const facts = new TypeFacts(g);
  const e = new Emitter(g);
  const used = consumedNames(g);

  for (const n of g.nodes) {
    if (!isDefaultDomain(n)) {
      e.push(n);
      continue;
    }
    upgradeNode(n, from, target, e, facts, used, g);
    facts.learn(n, from);
  }
  g.nodes = e.nodes;
  model.opsets.delete('ai.onnx');
  model.opsets.set('', target);
  return expandComposites(model);
}

/** Composite ops (training losses) become primitives the autodiff differentiates (decompose.ts). */
function expandComposites(model: Model): Model {
  // Weights stored as Constant / DequantizeLinear / Cast nodes become initializers first, so
  // parameter selection, shape facts and the safety network all see them as stored weights.
  liftConstantWeights(model);
  const facts = new TypeFacts(model.graph);
  for (const n of model.graph.nodes) facts.learn(n, TARGET_OPSET);
  return expandCompositeOps(model, (name) => facts.dtype(name));
}

function upgradeNode(n: Node, from: number, target: number, e: Emitter, facts: TypeFacts, used: Set<string>, g: Graph): void {
  const attrs = without(n.attrs, 'consumed_inputs');
  const ctx: UpgradeContext = {
    n, from, target, attrs, e, facts, used, g,
    keep: (a = attrs, inputs = n.inputs, outputs = n.outputs) => e.push({ ...n, inputs, outputs, attrs: a }),
  };
  const adapter = upgradeAdapterFor(n.opType);
  if (adapter) return adapter(ctx);
  // Ops that did not change: only opset < 7's is_test goes.
  if (from < 7 && n.attrs.is_test) return ctx.keep(without(attrs, 'is_test'));
  ctx.keep();
}
