/**
 * The rule registry: which ops the autodiff can differentiate. Rule files register here.
 * (Filled in by native/autodiff/rules/*; this file owns the lookup.)
 */
import type { Model } from '../onnx/ir.js';
import type { OpRule } from './types.js';
import { COMPOSITE_OPS, compositeRefusals } from '../onnx/decompose.js';

const rules = new Map<string, OpRule>();

export function registerRule(rule: OpRule): void {
  for (const op of rule.ops) {
    if (rules.has(op)) throw new Error(`autodiff: rule for ${op} registered twice`);
    rules.set(op, rule);
  }
}

/**
 * Puts `rule` in place of its ops' registered rules and returns the undo. Only for the tests that
 * prove the finite-difference checkers reject a wrong rule (test/autodiff-checker.test.ts).
 */
export function overrideRule(rule: OpRule): () => void {
  const previous = rule.ops.map((op) => [op, rules.get(op)] as const);
  for (const op of rule.ops) rules.set(op, rule);
  return () => {
    for (const [op, r] of previous) {
      if (r) rules.set(op, r);
      else rules.delete(op);
    }
  };
}

export function ruleFor(opType: string, domain = ''): OpRule | undefined {
  if (domain !== '' && domain !== 'ai.onnx') return undefined;
  return rules.get(opType);
}

export function supportedOps(): string[] {
  return [...rules.keys()].sort();
}

/** Every op type of the model that has no rule, sorted (empty when the model is supported). */
export function unsupportedOps(model: Model): string[] {
  const missing = new Set<string>();
  // Composite ops are expanded into primitives before differentiation (native/onnx/decompose.ts),
  // except those its expanders refuse (e.g. an RNN whose sequence length is not static).
  const refused = new Set(compositeRefusals(model).map((r) => r.node));
  for (const n of model.graph.nodes) {
    if (COMPOSITE_OPS.has(n.opType) && (n.domain === '' || n.domain === 'ai.onnx') && !refused.has(n)) continue;
    if (!ruleFor(n.opType, n.domain)) missing.add(n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType);
  }
  return [...missing].sort();
}
