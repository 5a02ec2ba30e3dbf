/**
 * Shape inference by probing: run the graph in ONNX Runtime with every intermediate tensor
 * exposed as an output, at two batch sizes. Dims that differ between the runs follow the
 * batch and are reported as null (dynamic); all others are static. This is exact for every
 * op the runtime knows, which a hand-written inference per op would not be.
 */
import { cloneModel, serializeModel, type Dim, type Model } from '../onnx/ir.js';
import { allocTyped, isFloatDType } from '../onnx/dtype.js';
import { numel, type Tensor } from '../onnx/tensor.js';
import { createSession, runSession } from '../runtime/session.js';
import type { TensorInfo } from './types.js';

export type ShapeMap = Map<string, TensorInfo>;

/** Deterministic pseudo-random values in [-1, 1) (xorshift), so probes are reproducible. */
function probeValues(t: Tensor, seed: number): void {
  let s = (seed * 2654435761) >>> 0 || 1;
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    if (isFloatDType(t.dtype)) (d as Float32Array)[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
}

function concreteDims(shape: Dim[] | null, batch: number): number[] {
  if (!shape) throw new Error('cannot probe an input of unknown rank');
  return shape.map((d) => (typeof d === 'number' && d > 0 ? d : batch));
}

export type FeedFactory = (batch: number) => Record<string, Tensor>;

/** Feeds for every graph input: random floats, zeros for integers; symbolic dims set to `batch`. */
export function defaultFeeds(model: Model): FeedFactory {
  return (batch) => {
    const feeds: Record<string, Tensor> = {};
    model.graph.inputs.forEach((v, i) => {
      const dims = concreteDims(v.shape, batch);
      const t: Tensor = { dtype: v.dtype, dims, data: allocTyped(v.dtype, numel(dims)) };
      probeValues(t, i + 1);
      feeds[v.name] = t;
    });
    return feeds;
  };
}

export async function probeShapes(model: Model, feeds: FeedFactory = defaultFeeds(model)): Promise<ShapeMap> {
  const probe = cloneModel(model);
  const exposed = new Set(probe.graph.outputs.map((o) => o.name));
  for (const n of probe.graph.nodes) {
    for (const o of n.outputs) {
      if (o && !exposed.has(o)) {
        exposed.add(o);
        probe.graph.outputs.push({ name: o, dtype: 'float32', shape: null, untyped: true });
      }
    }
  }
  const session = await createSession(serializeModel(probe), { optimize: false });
  const symbolic = model.graph.inputs.some((v) => v.shape?.some((d) => typeof d !== 'number' || d <= 0));
  const runs: Record<string, Tensor>[] = [];
  const batches = symbolic ? [2, 3] : [1];
  for (const b of batches) {
    const f = feeds(b);
    const out = await runSession(session, f);
    runs.push({ ...f, ...out });
  }
  await session.release();
  const shapes: ShapeMap = new Map();
  for (const [name, t] of model.graph.initializers) shapes.set(name, { dtype: t.dtype, dims: [...t.dims] });
  for (const [name, t] of Object.entries(runs[0]!)) {
    const other = runs[1]?.[name];
    const dims = t.dims.map((d, i) => (other && other.dims[i] !== d ? null : d));
    if (other && other.dims.length !== t.dims.length) throw new Error(`probe: rank of ${name} depends on the batch`);
    shapes.set(name, { dtype: t.dtype, dims });
  }
  return shapes;
}
