/**
 * Converts a float32 model to float64 end to end (initializers, inputs, outputs, Cast targets,
 * constants). Exact-arithmetic checks and high-accuracy curvature use it where ONNX Runtime's
 * CPU provider has float64 kernels (not Conv, ConvTranspose, AveragePool, GlobalAveragePool, Erf).
 */
import { cloneModel, tensorAttr, type Attr, type Model } from './ir.js';
import type { Tensor } from './tensor.js';

const FLOAT = 1;
/** Attributes that name an element type to produce: float becomes double. */
const WIDENED_TYPE_ATTRS = new Set([
  'Cast.to',
  'RandomNormal.dtype',
  'RandomUniform.dtype',
  'RandomNormalLike.dtype',
  'RandomUniformLike.dtype',
  'EyeLike.dtype',
  'Bernoulli.dtype',
  'LayerNormalization.stash_type',
]);
const DOUBLE = 11;
export const NO_FLOAT64_KERNEL = new Set([
  'Conv',
  'ConvTranspose',
  'AveragePool',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'Erf',
  'InstanceNormalization',
  'LRN',
  'Resize',
]);

function widen(t: Tensor): Tensor {
  return t.dtype === 'float32' ? { dtype: 'float64', dims: t.dims, data: Float64Array.from(t.data as Float32Array) } : t;
}

export function canRunInFloat64(model: Model): boolean {
  return !model.graph.nodes.some((n) => NO_FLOAT64_KERNEL.has(n.opType));
}

/** Float inputs whose type the op fixes at float32 whatever the data's type (Resize/Upsample scales). */
const FLOAT32_SLOTS: Record<string, number> = { Resize: 2, Upsample: 1 };

export function toFloat64(source: Model): Model {
  const m = cloneModel(source);
  const g = m.graph;
  const keep = new Set(g.nodes.filter((n) => FLOAT32_SLOTS[n.opType] !== undefined).map((n) => n.inputs[FLOAT32_SLOTS[n.opType]!] ?? ''));
  for (const [k, t] of g.initializers) if (!keep.has(k)) g.initializers.set(k, widen(t));
  for (const list of [g.inputs, g.outputs]) for (const v of list) if (v.dtype === 'float32') v.dtype = 'float64';
  for (const [k, v] of g.valueInfo) if (v.dtype === 'float32') g.valueInfo.set(k, { ...v, dtype: 'float64' });
  for (const n of g.nodes) {
    const attrs: Record<string, Attr> = {};
    for (const [k, a] of Object.entries(n.attrs)) {
      if (a.kind === 'tensor') attrs[k] = keep.has(n.outputs[0] ?? '') ? a : tensorAttr(widen(a.value));
      else if (WIDENED_TYPE_ATTRS.has(`${n.opType}.${k}`) && a.kind === 'int' && a.value === FLOAT) attrs[k] = { kind: 'int', value: DOUBLE };
      else attrs[k] = a;
    }
    // LayerNormalization computes its statistics in stash_type (default float): widen it too.
    if (n.opType === 'LayerNormalization' && !attrs.stash_type) attrs.stash_type = { kind: 'int', value: DOUBLE };
    n.attrs = attrs;
  }
  return m;
}
