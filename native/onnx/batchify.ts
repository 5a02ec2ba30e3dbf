/**
 * Makes a model exported with a fixed batch size of 1 accept any batch size. Most exporters
 * write the batch size they traced with into the input/output shapes and, worse, into
 * Reshape targets ([1, 256] in CNTK's MNIST, [1, -1] from torch's x.view(1, -1)). Here the
 * graph's batch dims become symbolic ("N") and such Reshape targets get their batch entry
 * replaced by -1 (the other entries made explicit from a probe run when they were -1/0).
 *
 * A rewrite we cannot vouch for is worse than slow per-sample runs, so every rewrite is
 * verified: a few distinct samples run one by one through the original must equal the same
 * samples run as one batch through the rewritten model. Anything else falls back.
 */
import { Rng } from '../../common/random.js';
import { cloneModel, attrInt, attrInts, type Model, type Node } from './ir.js';
import { serializeModel } from './ir.js';
import { numel, tensor, type Tensor } from './tensor.js';
import { allocTyped, type TypedArray } from './dtype.js';
import { createSession, runSession } from '../runtime/session.js';

export const BATCH_DIM = 'N';

export interface BatchPlan {
  /** The model to run batched: rewritten, or the original when !batched or nothing needed changing. */
  model: Model;
  /** True when `model` takes any batch size; false means run one sample at a time. */
  batched: boolean;
  /** Why not (when !batched), or a note on what was found. */
  reason?: string;
  /** Human-readable list of rewrites, e.g. 'Reshape "r": target [1,256] -> [-1,256]'. */
  changes: string[];
  /** Largest |batched - per-sample| seen during verification (absent when not verified). */
  maxAbsDiff?: number;
}

export interface BatchifyOptions {
  /**
   * Per-input sample data for verification: for each graph input, `count` samples flattened
   * sample-major. Deterministic pseudo-random values are used when absent. Real samples are
   * better: random inputs can leave ReLU networks nearly dead and hide a mismatch.
   */
  samples?: Record<string, TypedArray>;
  /** How many samples to verify with (default 3, at least 2 so mixing across samples shows). */
  count?: number;
  /** |a - b| <= atol + rtol * |b| (defaults 1e-4, 1e-3: float32 kernels may reorder sums per batch size). */
  atol?: number;
  rtol?: number;
}

const notBatched = (source: Model, reason: string, changes: string[] = []): BatchPlan => ({
  model: source,
  batched: false,
  reason,
  changes,
});

/** Rewrites and verifies; never throws for a model that runs per sample (it falls back instead). */
export async function prepareBatched(source: Model, opts: BatchifyOptions = {}): Promise<BatchPlan> {
  const g = source.graph;
  if (g.inputs.length === 0) return notBatched(source, 'the model has no inputs');
  for (const v of [...g.inputs, ...g.outputs]) {
    if (!v.shape || v.shape.length === 0) return notBatched(source, `"${v.name}" has no batch dimension (shape ${fmt(v.shape)})`);
    const d0 = v.shape[0];
    if (typeof d0 === 'number' && d0 !== 1) return notBatched(source, `"${v.name}" has a fixed first dimension of ${d0}`);
  }
  const fixed = [...g.inputs, ...g.outputs].filter((v) => v.shape![0] === 1);
  if (fixed.length === 0) return { model: source, batched: true, reason: 'the batch dimension is already symbolic', changes: [] };

  const model = cloneModel(source);
  // IR < 4 requires every initializer to be a graph input too; the IR keeps them apart, so
  // the rewritten model is written as IR 4, which lifts that rule and changes nothing else.
  if (model.irVersion < 4) model.irVersion = 4;
  const changes: string[] = [];
  for (const v of [...model.graph.inputs, ...model.graph.outputs]) {
    if (v.shape![0] === 1) {
      v.shape![0] = BATCH_DIM;
      changes.push(`"${v.name}": batch dimension 1 -> ${BATCH_DIM}`);
    }
  }
  const onDataPath = dataPath(model);
  // Intermediate shapes recorded at batch 1 would contradict the runtime at batch N.
  for (const name of [...model.graph.valueInfo.keys()]) if (onDataPath.has(name)) model.graph.valueInfo.delete(name);

  let probe: Map<string, number[]> | null = null;
  for (const node of model.graph.nodes) {
    if (node.opType !== 'Reshape' || !onDataPath.has(node.inputs[0] ?? '')) continue;
    const target = reshapeTarget(model, node);
    if (target === 'dynamic') continue; // computed from Shape ops: follows the batch by itself
    if (target === null) return notBatched(source, `Reshape "${node.name}": cannot read its target shape`, changes);
    const allowZero = attrInt(node, 'allowzero', 0) === 1;
    const first = target[0];
    if (first === -1 || (first === 0 && !allowZero)) continue;
    if (first !== 1) return notBatched(source, `Reshape "${node.name}" hard-codes target [${target}], whose first entry is not the batch`, changes);
    let rest = target.slice(1);
    if (rest.some((d) => d === -1 || d === 0)) {
      // [1, -1] -> [-1, K]: K is what the original computes at batch 1.
      probe ??= await probeShapes(source, model.graph.nodes.filter((n) => n.opType === 'Reshape').map((n) => n.outputs[0]!));
      const dims = probe.get(node.outputs[0]!);
      if (!dims || dims[0] !== 1) return notBatched(source, `Reshape "${node.name}": probing its output shape failed`, changes);
      rest = dims.slice(1);
    }
    const next = [-1, ...rest];
    setReshapeTarget(model, node, next);
    changes.push(`Reshape "${node.name}": target [${target}] -> [${next}]`);
  }

  dropUnusedInitializers(model);
  try {
    const maxAbsDiff = await verify(source, model, opts);
    return { model, batched: true, changes, maxAbsDiff };
  } catch (err) {
    return notBatched(source, `batched run does not match per-sample runs: ${(err as Error).message}`, changes);
  }
}

const fmt = (shape: unknown[] | null): string => (shape ? `[${shape.map((d) => (d === null ? '?' : d)).join(',')}]` : 'unknown');

/** Tensors whose values depend on a graph input (as opposed to weights and constants). */
function dataPath(model: Model): Set<string> {
  const reached = new Set(model.graph.inputs.map((v) => v.name));
  for (const n of model.graph.nodes) {
    if (n.inputs.some((i) => reached.has(i))) for (const o of n.outputs) if (o) reached.add(o);
  }
  return reached;
}

function constantProducer(model: Model, name: string): Node | undefined {
  return model.graph.nodes.find((n) => n.opType === 'Constant' && n.outputs[0] === name);
}

/** The Reshape's target as numbers; 'dynamic' when it is computed at run time. */
function reshapeTarget(model: Model, node: Node): number[] | 'dynamic' | null {
  if (node.inputs.length < 2) return attrInts(node, 'shape') ?? null; // opset < 5: an attribute
  const name = node.inputs[1]!;
  const init = model.graph.initializers.get(name);
  if (init) return Array.from(init.data as ArrayLike<number | bigint>, Number);
  const c = constantProducer(model, name);
  if (c) {
    const a = c.attrs.value;
    return a?.kind === 'tensor' ? Array.from(a.value.data as ArrayLike<number | bigint>, Number) : null;
  }
  return 'dynamic';
}

/** Points the Reshape at a fresh initializer: the old target may be shared with weight reshapes. */
function setReshapeTarget(model: Model, node: Node, target: number[]): void {
  if (node.inputs.length < 2) {
    node.attrs = { ...node.attrs, shape: { kind: 'ints', value: target } };
    return;
  }
  let name = `${node.inputs[1]}__batched`;
  for (let i = 1; model.graph.initializers.has(name); i++) name = `${node.inputs[1]}__batched${i}`;
  model.graph.initializers.set(name, tensor('int64', [target.length], target));
  node.inputs = [node.inputs[0]!, name, ...node.inputs.slice(2)];
}

/** Serialized for a session; see the IR 4 note in prepareBatched. */
function runnableBytes(model: Model): Uint8Array {
  return serializeModel(model.irVersion < 4 ? { ...model, irVersion: 4 } : model);
}

/** Removes shape constants orphaned by setReshapeTarget. */
function dropUnusedInitializers(model: Model): void {
  const used = new Set(model.graph.nodes.flatMap((n) => n.inputs));
  for (const o of model.graph.outputs) used.add(o.name);
  for (const name of [...model.graph.initializers.keys()]) if (!used.has(name)) model.graph.initializers.delete(name);
}

/** Runs the original at batch 1 and reads the shapes of the named intermediates. */
async function probeShapes(source: Model, names: string[]): Promise<Map<string, number[]>> {
  const m = cloneModel(source);
  const existing = new Set(m.graph.outputs.map((o) => o.name));
  for (const n of names) if (!existing.has(n)) m.graph.outputs.push({ name: n, dtype: 'float32', shape: null, untyped: true });
  const feeds = sampleFeeds(source, 1, {});
  const session = await createSession(runnableBytes(m), { optimize: false });
  try {
    const out = await runSession(session, feeds.batch, names);
    return new Map(Object.entries(out).map(([k, t]) => [k, t.dims]));
  } finally {
    await session.release();
  }
}

interface Feeds {
  /** All samples as one batch. */
  batch: Record<string, Tensor>;
  /** One feed per sample, batch 1. */
  single: Record<string, Tensor>[];
}

/** Deterministic inputs (or the caller's samples) for every graph input, as one batch and one by one. */
function sampleFeeds(source: Model, count: number, samples: Record<string, TypedArray>): Feeds {
  const batch: Record<string, Tensor> = {};
  const single: Record<string, Tensor>[] = Array.from({ length: count }, () => ({}));
  // The project's seeded generator: the same probe inputs on every run.
  const rng = new Rng(12345);
  const next = () => rng.next();
  for (const v of source.graph.inputs) {
    const per = v.shape!.slice(1).map((d) => (typeof d === 'number' ? d : 1));
    const n = numel(per);
    const given = samples[v.name];
    const all = allocTyped(v.dtype, n * count);
    for (let i = 0; i < all.length; i++) {
      const value = given && given.length >= all.length ? Number(given[i]) : v.dtype.startsWith('float') ? next() : Math.floor(next() * 2);
      if (all instanceof BigInt64Array || all instanceof BigUint64Array) all[i] = BigInt(Math.trunc(value));
      else all[i] = value;
    }
    batch[v.name] = { dtype: v.dtype, dims: [count, ...per], data: all };
    for (let s = 0; s < count; s++) single[s]![v.name] = { dtype: v.dtype, dims: [1, ...per], data: all.slice(s * n, (s + 1) * n) };
  }
  return { batch, single };
}

/** Throws (with what differed) unless batched outputs equal per-sample outputs; returns the max abs diff. */
async function verify(source: Model, batchedModel: Model, opts: BatchifyOptions): Promise<number> {
  const count = Math.max(2, opts.count ?? 3);
  const atol = opts.atol ?? 1e-4;
  const rtol = opts.rtol ?? 1e-3;
  const feeds = sampleFeeds(source, count, opts.samples ?? {});
  const original = await createSession(runnableBytes(source));
  const batched = await createSession(serializeModel(batchedModel));
  let maxAbsDiff = 0;
  try {
    const together = await runSession(batched, feeds.batch);
    for (let s = 0; s < count; s++) {
      const alone = await runSession(original, feeds.single[s]!);
      for (const [name, one] of Object.entries(alone)) {
        const all = together[name];
        if (!all) throw new Error(`output "${name}" missing from the batched run`);
        const n = one.data.length;
        if (all.dims[0] !== count || all.data.length !== n * count) {
          throw new Error(`output "${name}" has shape [${all.dims}] for a batch of ${count}; one sample gives [${one.dims}]`);
        }
        for (let i = 0; i < n; i++) {
          const a = Number(all.data[s * n + i]);
          const b = Number(one.data[i]);
          const diff = Math.abs(a - b);
          if (!(diff <= atol + rtol * Math.abs(b)) && !(Number.isNaN(a) && Number.isNaN(b))) {
            throw new Error(`output "${name}", sample ${s}, element ${i}: batched ${a} vs alone ${b}`);
          }
          if (diff > maxAbsDiff) maxAbsDiff = diff;
        }
      }
    }
  } finally {
    await original.release();
    await batched.release();
  }
  return maxAbsDiff;
}
