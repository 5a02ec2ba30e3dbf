/**
 * Runs a model forward and backward for saliency: the model is made batchable (fixed batch 1
 * exports, native/onnx/batchify.ts; per-sample runs when that cannot be verified), upgraded to
 * opset 18, and two sessions are opened per (model, layers, score):
 *   forward  the model with the score tensor and the requested intermediates exposed;
 *   vjp      native/autodiff vjpGraph: d <seed, score> / d layers (and the input), where the
 *            seed is a one-hot row per sample, i.e. the gradient of each sample's class score.
 * Sessions live in the shared session cache (built graphs are cached with them), so a second
 * analysis of the same model and layer skips graph building and session creation.
 */
import { AppError } from '../../common/errors.js';
import { cloneModel, serializeModel, type Model, type Node } from '../../native/onnx/ir.js';
import { prepareBatched } from '../../native/onnx/batchify.js';
import { upgradeOpset } from '../../native/onnx/upgrade.js';
import { vjpGraph } from '../../native/autodiff/index.js';
import { probeShapes, type ShapeMap } from '../../native/autodiff/shapes.js';
import { runSession } from '../../native/runtime/session.js';
import { sessionCache, uncachedLease, type SessionLease } from '../../native/runtime/cache.js';
import type { Tensor } from '../../native/onnx/tensor.js';
import type { DType } from '../../native/onnx/dtype.js';
import type { LoadedModel } from '../types.js';
import type { InferenceSession } from 'onnxruntime-node';

export interface SaliencyModel {
  /** Cache identity: the model's sha256 (plus a suffix for derived, e.g. randomized, models). */
  id: string;
  /** Batchable (when possible), opset-upgraded graph. */
  model: Model;
  batched: boolean;
  batchNote: string | null;
  input: string;
  inputDtype: DType;
  /** Per-sample input dims. */
  sampleDims: number[];
  /** The graph output. */
  output: string;
  /** The tensor whose entries are the class scores: the logits before a final (Log)Softmax. */
  score: string;
  numClasses: number;
  /** How class probabilities follow from the scores: softmax over classes, or a sigmoid per class (multi-label / binary). */
  probability: 'softmax' | 'sigmoid';
  shapes: ShapeMap;
  producers: Map<string, Node>;
}

const PASS_THROUGH = new Set(['Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze']);

/**
 * Grad-CAM differentiates the pre-softmax score (Selvaraju et al. Sec. 3): a softmax output's
 * gradient mixes in every other class. Walks back from the output through pass-through ops to a
 * Softmax/LogSoftmax (or a Sigmoid: a binary classifier's logit) and returns its input; the
 * output itself otherwise.
 */
export function scoreTensor(output: string, producers: Map<string, Node>): { score: string; sigmoid: boolean } {
  let name = output;
  for (let hops = 0; hops < 16; hops++) {
    const node = producers.get(name);
    if (!node) break;
    if (node.opType === 'Softmax' || node.opType === 'LogSoftmax') return { score: node.inputs[0]!, sigmoid: false };
    if (node.opType === 'Sigmoid') return { score: node.inputs[0]!, sigmoid: true };
    if (!PASS_THROUGH.has(node.opType)) break;
    name = node.inputs[0]!;
  }
  return { score: output, sigmoid: false };
}

const prepared = new Map<string, Promise<SaliencyModel>>();
const MAX_PREPARED = 8;

/** Batchify + upgrade + shape probe, cached per model sha256. */
export function prepareSaliencyModel(loaded: LoadedModel, verifySamples?: Float32Array): Promise<SaliencyModel> {
  let p = prepared.get(loaded.sha256);
  if (!p) {
    p = build(loaded, verifySamples);
    prepared.set(loaded.sha256, p);
    p.catch(() => prepared.delete(loaded.sha256));
    if (prepared.size > MAX_PREPARED) prepared.delete(prepared.keys().next().value as string);
  }
  return p;
}

async function build(loaded: LoadedModel, verifySamples?: Float32Array): Promise<SaliencyModel> {
  const g = loaded.ir.graph;
  if (g.inputs.length !== 1) throw new AppError('BAD_MODEL', `saliency needs a model with one input; this one has ${g.inputs.length}`);
  if (g.outputs.length < 1) throw new AppError('BAD_MODEL', 'the model has no outputs');
  const inputInfo = g.inputs[0]!;
  const samples = verifySamples && inputInfo.dtype === 'float32' ? { [inputInfo.name]: verifySamples } : undefined;
  // An input whose batch dim is already symbolic needs no rewrite (prepareBatched would also
  // insist on declared output shapes, which many graphs leave out).
  const d0 = inputInfo.shape?.[0];
  const plan =
    d0 !== undefined && d0 !== 1 && typeof d0 !== 'number'
      ? { model: loaded.ir, batched: true, reason: 'the batch dimension is already symbolic', changes: [] as string[] }
      : await prepareBatched(loaded.ir, samples ? { samples, count: Math.max(2, Math.min(3, verifySamples!.length / perSample(inputInfo.shape))) } : {});
  const model = upgradeOpset(plan.model);
  const shapes = await probeShapes(model);
  const producers = new Map<string, Node>();
  for (const n of model.graph.nodes) for (const o of n.outputs) if (o) producers.set(o, n);
  const output = model.graph.outputs[0]!.name;
  const found = scoreTensor(output, producers);
  const perSampleOf = (name: string) => shapes.get(name)!.dims.slice(1).reduce<number>((a, d) => a * (d ?? 1), 1);
  // A softmax over the last axis of [N, T, C] reads a [N*T, C] tensor (the opset < 13 form,
  // upgraded): its rows are positions, not samples, so the scores are the output itself, one
  // entry per position and class (targets are flat indices t*C + c).
  const aligned = shapes.get(found.score)!.dims[0] === shapes.get(output)!.dims[0] && perSampleOf(found.score) === perSampleOf(output);
  const { score, sigmoid } = aligned ? found : { score: output, sigmoid: false };
  const numClasses = perSampleOf(score);
  const inInfo = shapes.get(inputInfo.name)!;
  return {
    id: loaded.sha256,
    model,
    batched: plan.batched,
    batchNote: plan.batched ? null : (plan.reason ?? 'fixed batch size'),
    input: inputInfo.name,
    inputDtype: inputInfo.dtype,
    sampleDims: inInfo.dims.slice(1).map((d) => d ?? 1),
    output,
    score,
    numClasses,
    probability: sigmoid || numClasses === 1 ? 'sigmoid' : 'softmax',
    shapes,
    producers,
  };
}

function perSample(shape: (number | string | null)[] | null): number {
  return (shape ?? []).slice(1).reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1) || 1;
}

/** The same graph with some initializers replaced (model randomization); shapes are unchanged. */
export function withInitializers(base: SaliencyModel, id: string, values: Map<string, Tensor>): SaliencyModel {
  const model = cloneModel(base.model);
  for (const [k, t] of values) model.graph.initializers.set(k, t);
  return { ...base, id, model };
}

export interface RunnerSpec {
  /** Tensors to differentiate the score with respect to (layers, maybe the input). */
  wrt: string[];
  /** Intermediates to read in the forward run (layers, conv inputs). */
  read: string[];
  /** false: private sessions, released with the runner (derived models that are used once). */
  cache?: boolean;
}

type Held = SessionLease;

/** Built vjp graphs' tensor names, per cache key (names are deterministic, the map is for safety). */
const vjpNames = new Map<string, { seed: string; grads: Map<string, string> }>();

export class SaliencyRunner {
  private constructor(
    readonly sm: SaliencyModel,
    readonly spec: RunnerSpec,
    private readonly fwd: Held,
    private readonly bwd: Held | null,
    private readonly names: { seed: string; grads: Map<string, string> } | null,
  ) {}

  static async open(sm: SaliencyModel, spec: RunnerSpec): Promise<SaliencyRunner> {
    const useCache = spec.cache !== false;
    const fwdOutputs = [...new Set([sm.score, ...spec.read])];
    const fwdBytes = () => serializeModel(exposed(sm, fwdOutputs));
    const fwd = await hold(useCache, sm.id, `saliency:fwd:${fwdOutputs.join('|')}`, fwdBytes);
    if (spec.wrt.length === 0) return new SaliencyRunner(sm, spec, fwd, null, null);
    const key = `saliency:vjp:${sm.score}:${spec.wrt.join('|')}:${spec.read.join('|')}`;
    let names = useCache ? vjpNames.get(`${sm.id}:${key}`) : undefined;
    let bytes: Uint8Array | null = null;
    const buildVjp = async () => {
      const g = await vjpGraph(sm.model, sm.score, spec.wrt, { upgrade: false });
      // The clean gradient run can then stand in for the forward run (scores, activations).
      const outs = g.model.graph.outputs;
      for (const n of spec.read) {
        if (outs.some((o) => o.name === n)) continue;
        const info = sm.shapes.get(n)!;
        outs.push({ name: n, dtype: info.dtype, shape: info.dims.map((d, i) => d ?? `d${i}`) });
      }
      names = { seed: g.seed, grads: g.grads };
      if (useCache) vjpNames.set(`${sm.id}:${key}`, names);
      bytes = serializeModel(g.model);
      return bytes;
    };
    let bwd: Held;
    try {
      bwd = await hold(useCache, sm.id, key, buildVjp);
      if (!names) {
        // Cached session from an earlier build whose names were dropped: rebuild the names only.
        await buildVjp();
      }
    } catch (err) {
      fwd.release();
      throw err;
    }
    return new SaliencyRunner(sm, spec, fwd, bwd, names!);
  }

  /** Forward run: the score rows and the requested intermediates, each [count, ...] flattened. */
  async forward(x: Float32Array, count: number): Promise<Record<string, Float32Array>> {
    const names = [...new Set([this.sm.score, ...this.spec.read])];
    return this.runSplit(this.fwd.session, x, count, null, names);
  }

  /** d <seed, score> / d wrt for each wrt tensor; seed is count x numClasses. */
  async gradients(x: Float32Array, count: number, seed: Float32Array): Promise<Record<string, Float32Array>> {
    return (await this.gradientsWithValues(x, count, seed, false)).grads;
  }

  /**
   * Gradients and, with values = true, what forward() returns (scores and the read tensors)
   * from the same run: one call instead of two when the input is not noisy.
   */
  async gradientsWithValues(x: Float32Array, count: number, seed: Float32Array, values = true): Promise<{ grads: Record<string, Float32Array>; values: Record<string, Float32Array> | null }> {
    if (!this.bwd || !this.names) throw new AppError('INTERNAL', 'saliency runner opened without gradients');
    const wanted = this.spec.wrt.map((w) => this.names!.grads.get(w)!);
    const read = values ? [...new Set([this.sm.score, ...this.spec.read])] : [];
    const out = await this.runSplit(this.bwd.session, x, count, seed, [...new Set([...wanted, ...read])]);
    const grads: Record<string, Float32Array> = {};
    this.spec.wrt.forEach((w, i) => (grads[w] = out[wanted[i]!]!));
    return { grads, values: values ? Object.fromEntries(read.map((n) => [n, out[n]!])) : null };
  }

  /** One call per batch when batched, else one per sample with the outputs concatenated. */
  private async runSplit(session: InferenceSession, x: Float32Array, count: number, seed: Float32Array | null, outputs: string[]) {
    const sm = this.sm;
    const per = x.length / count;
    const K = sm.numClasses;
    const feeds = (from: number, n: number): Record<string, Tensor> => {
      const f: Record<string, Tensor> = {
        [sm.input]: {
          dtype: sm.inputDtype,
          dims: [n, ...sm.sampleDims],
          data: sm.inputDtype === 'float64' ? Float64Array.from(x.subarray(from * per, (from + n) * per)) : x.subarray(from * per, (from + n) * per),
        },
      };
      if (seed) {
        const dt = sm.shapes.get(sm.score)!.dtype;
        const sd = seed.subarray(from * K, (from + n) * K);
        const scoreDims = sm.shapes.get(sm.score)!.dims.slice(1).map((d) => d ?? 1);
        f[this.names!.seed] = { dtype: dt, dims: [n, ...scoreDims], data: dt === 'float64' ? Float64Array.from(sd) : sd };
      }
      return f;
    };
    const asF32 = (t: Tensor) => (t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>));
    if (sm.batched) {
      const r = await runSession(session, feeds(0, count), outputs);
      return Object.fromEntries(outputs.map((o) => [o, asF32(r[o]!)]));
    }
    const parts: Record<string, Float32Array[]> = {};
    for (let s = 0; s < count; s++) {
      const r = await runSession(session, feeds(s, 1), outputs);
      for (const o of outputs) (parts[o] ??= []).push(asF32(r[o]!));
    }
    const out: Record<string, Float32Array> = {};
    for (const o of outputs) {
      const list = parts[o]!;
      const all = new Float32Array(list.reduce((a, p) => a + p.length, 0));
      let off = 0;
      for (const p of list) {
        all.set(p, off);
        off += p.length;
      }
      out[o] = all;
    }
    return out;
  }

  release(): void {
    this.fwd.release();
    this.bwd?.release();
  }
}

/** The model with extra graph outputs (intermediates read in the forward run). */
function exposed(sm: SaliencyModel, names: string[]): Model {
  const m = cloneModel(sm.model);
  const have = new Set(m.graph.outputs.map((o) => o.name));
  for (const n of names) {
    if (have.has(n)) continue;
    const info = sm.shapes.get(n);
    if (!info) throw new AppError('BAD_PARAMS', `no tensor named "${n}" in the model`);
    m.graph.outputs.push({ name: n, dtype: info.dtype, shape: info.dims.map((d, i) => d ?? `d${i}`) });
  }
  return m;
}

async function hold(useCache: boolean, id: string, variant: string, build: () => Uint8Array | Promise<Uint8Array>): Promise<Held> {
  return useCache ? sessionCache.acquire(id, variant, build) : uncachedLease(await build());
}
