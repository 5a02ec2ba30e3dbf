/**
 * Runs derived graphs over batches with parameters as one flat vector, the form every
 * curvature and coherence analyzer works in: loss, gradient, H v. Sessions are opened once;
 * parameter values are fed on every run (so a perturbed weight vector needs no new session).
 */
import type * as ort from 'onnxruntime-node';
import { cloneModel, serializeModel, type Model } from '../onnx/ir.js';
import { tensor, type Tensor } from '../onnx/tensor.js';
import { createSession, runSession } from '../runtime/session.js';
import { hvpGraph, parameterGradientGraph, type PreparedModel } from './index.js';
import type { HvpProbe } from './hvp.js';
import { buildPerExampleGrams } from './per-example.js';

export interface Batch {
  /** Data input(s) by name, batch-major. */
  inputs: Record<string, Tensor>;
  labels: Tensor;
  /** Per-sample weights (w_i); the loss is sum_i w_i l_i. Default 1/batch (the batch mean). */
  weights?: Tensor;
}

/** Per-example gradient geometry of one batch (loss = sum of per-example losses). */
export interface PerExampleStats {
  batch: number;
  /** sum_i g_i over the batch, flat (prepared.params order). */
  sumGrad: Float64Array;
  /** <g_i, g_j> over all parameters, row-major B x B. */
  gram: Float64Array;
  /** Per parameter tensor: ||g_i||^2 restricted to it, per example. */
  sqNorms: Map<string, Float64Array>;
  /** sum_i g_i * g_i elementwise, flat (prepared.params order): second moments for GSNR. */
  sqSum: Float64Array;
}

/** Examples [i, i+1) of a batch. */
export function sliceBatch(batch: Batch, i: number): Batch {
  const one = (t: Tensor): Tensor => {
    const per = t.data.length / t.dims[0]!;
    return { dtype: t.dtype, dims: [1, ...t.dims.slice(1)], data: t.data.slice(i * per, (i + 1) * per) as Tensor['data'] };
  };
  const inputs: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(batch.inputs)) inputs[k] = one(t);
  return { inputs, labels: one(batch.labels), ...(batch.weights ? { weights: one(batch.weights) } : {}) };
}

/** The graph with the lifted parameters turned back into initializers holding `values`. */
export function bakeParameters(source: Model, values: Map<string, Tensor>): Model {
  const model = cloneModel(source);
  model.graph.inputs = model.graph.inputs.filter((v) => !values.has(v.name));
  for (const [name, t] of values) model.graph.initializers.set(name, t);
  return model;
}

/** Memory the tangents of one block of probes may take (bytes); see probeBlockSize. */
export const MAX_PROBE_BLOCK_BYTES = 256 * 1024 ** 2;

/**
 * How many probes one HVP run may carry (hvpBlock): `wanted`, cut so that the block's tangents
 * fit MAX_PROBE_BLOCK_BYTES. Each probe carries a tangent for every forward activation and about
 * as many in the backward pass: 2 x the forward graph's batch-dependent tensors, per sample.
 */
export function probeBlockSize(prepared: PreparedModel, batchSize: number, wanted: number): number {
  let perSample = 0;
  for (const info of prepared.shapes.values()) {
    if (info.dims[0] !== null) continue;
    perSample += info.dims.slice(1).reduce<number>((a, d) => a * (d ?? 1), 1) * (info.dtype === 'float64' ? 8 : 4);
  }
  const perProbe = Math.max(1, 2 * perSample * batchSize);
  return Math.max(1, Math.min(Math.floor(wanted), Math.floor(MAX_PROBE_BLOCK_BYTES / perProbe)));
}

export class LossRunner {
  readonly offsets: number[] = [];
  readonly dim: number;
  private params: Map<string, Tensor>;
  private readonly labelsDType: Tensor['dtype'];

  private perExample: {
    session: ort.InferenceSession;
    grads: Map<string, string>;
    grams: Map<string, string>;
    sqsums: Map<string, string>;
    fallback: string[];
  } | null = null;

  private constructor(
    readonly prepared: PreparedModel,
    /** Parameters baked into the graphs as constants (faster; setParameters is refused). */
    readonly fixedParameters: boolean,
    private readonly lossSession: ort.InferenceSession,
    private readonly gradSession: ort.InferenceSession | null,
    private readonly hvpSession: ort.InferenceSession | null,
    private readonly hvpNames: { grads: Map<string, string>; v: Map<string, string>; hv: Map<string, string> } | null,
    private readonly gradNames: Map<string, string> | null,
    private readonly products: { session: ort.InferenceSession; v: Map<string, string>; hv: Map<string, string> } | null = null,
    private readonly block: { session: ort.InferenceSession; probes: HvpProbe[] } | null = null,
  ) {
    let offset = 0;
    for (const p of prepared.params) {
      this.offsets.push(offset);
      offset += prepared.values.get(p)!.data.length;
    }
    this.dim = offset;
    this.params = new Map(prepared.values);
    this.labelsDType = prepared.model.graph.inputs.find((v) => v.name === prepared.labels)!.dtype;
  }

  /**
   * what.fixedParameters: the parameters will not change during this runner's life (gradients,
   * curvature at one point, per-example geometry). Their values are then baked into the graphs
   * as initializers: nothing to copy in per run, and ONNX Runtime can pre-pack weights and
   * fold constants. Leave it off where parameters are perturbed (loss landscapes, training).
   */
  static async create(
    prepared: PreparedModel,
    what: { gradient?: boolean; hvp?: boolean; hvpProducts?: boolean; hvpBlock?: number; fixedParameters?: boolean } = {},
  ): Promise<LossRunner> {
    const fixed = what.fixedParameters ?? false;
    const open = (m: Model) => createSession(serializeModel(fixed ? bakeParameters(m, prepared.values) : m));
    const lossSession = await open(prepared.model);
    let gradSession = null;
    let gradNames = null;
    if (what.gradient !== false) {
      const g = parameterGradientGraph(prepared);
      gradSession = await open(g.model);
      gradNames = g.grads;
    }
    let hvpSession = null;
    let hvpNames = null;
    if (what.hvp) {
      const h = await hvpGraph(prepared);
      hvpSession = await open(h.model);
      hvpNames = { grads: h.grads, v: h.tangentInputs, hv: h.hvps };
    }
    let products = null;
    if (what.hvpProducts) {
      const h = await hvpGraph(prepared, prepared.params, { productsOnly: true });
      products = { session: await open(h.model), v: h.tangentInputs, hv: h.hvps };
    }
    let block = null;
    if (what.hvpBlock !== undefined && what.hvpBlock > 1) {
      const h = await hvpGraph(prepared, prepared.params, { productsOnly: true, probes: what.hvpBlock });
      block = { session: await open(h.model), probes: h.probes };
    }
    return new LossRunner(prepared, fixed, lossSession, gradSession, hvpSession, hvpNames, gradNames, products, block);
  }

  /** Current parameters as one flat float64 vector (in prepared.params order). */
  parameterVector(): Float64Array {
    return this.flatten((p) => this.params.get(p)!);
  }

  /** Replaces the parameters (a flat vector in prepared.params order). */
  setParameters(flat: Float64Array): void {
    if (this.fixedParameters) throw new Error('this LossRunner was created with fixedParameters: its parameters cannot change');
    for (const [p, t] of this.unflatten(flat)) this.params.set(p, t);
  }

  async loss(batch: Batch): Promise<{ loss: number; sampleLosses: Float64Array }> {
    const out = await runSession(this.lossSession, this.feeds(batch), [this.prepared.loss, this.prepared.sampleLosses]);
    return { loss: Number(out[this.prepared.loss]!.data[0]), sampleLosses: Float64Array.from(out[this.prepared.sampleLosses]!.data as Float32Array) };
  }

  async gradient(batch: Batch): Promise<{ loss: number; grad: Float64Array }> {
    if (!this.gradSession || !this.gradNames) throw new Error('LossRunner created without a gradient graph');
    const names = this.gradNames;
    const out = await runSession(this.gradSession, this.feeds(batch), [this.prepared.loss, ...names.values()]);
    return { loss: Number(out[this.prepared.loss]!.data[0]), grad: this.flatten((p) => out[names.get(p)!]!) };
  }

  /** H v (and the gradient, which comes for free) for one batch. */
  async hvp(batch: Batch, v: Float64Array): Promise<{ loss: number; grad: Float64Array; hv: Float64Array }> {
    if (!this.hvpSession || !this.hvpNames) throw new Error('LossRunner created without an HVP graph');
    const names = this.hvpNames;
    const feeds = this.feeds(batch);
    for (const [p, t] of this.unflatten(v)) feeds[names.v.get(p)!] = t;
    const out = await runSession(this.hvpSession, feeds);
    return {
      loss: Number(out[this.prepared.loss]?.data[0] ?? NaN),
      grad: this.flatten((p) => out[names.grads.get(p)!]!),
      hv: this.flatten((p) => out[names.hv.get(p)!]!),
    };
  }

  /**
   * H v alone for one batch, from the products-only graph (create with hvpProducts: true): no
   * loss or gradient is computed, so each product costs less than hvp()'s.
   */
  async hvpProduct(batch: Batch, v: Float64Array): Promise<Float64Array> {
    if (!this.products) throw new Error('LossRunner created without hvpProducts');
    const { session, v: vNames, hv } = this.products;
    const feeds = this.feeds(batch);
    for (const [p, t] of this.unflatten(v)) feeds[vNames.get(p)!] = t;
    const out = await runSession(session, feeds);
    return this.flatten((p) => out[hv.get(p)!]!);
  }

  /**
   * H v_1 .. H v_m for one batch. With a block graph (create with hvpBlock: k) each run takes k
   * probes over one shared primal forward and backward; a last partial block is padded with
   * zero vectors, one left over goes to the one-probe graph (hvpProducts) when there is one.
   */
  async hvpProducts(batch: Batch, vs: Float64Array[]): Promise<Float64Array[]> {
    const out: Float64Array[] = [];
    if (!this.block) {
      for (const v of vs) out.push(await this.hvpProduct(batch, v));
      return out;
    }
    const { session, probes } = this.block;
    const k = probes.length;
    // One set of batch feeds for every chunk: each run overwrites all k probes' tangent inputs.
    const feeds = this.feeds(batch);
    let zero: Map<string, Tensor> | null = null;
    for (let start = 0; start < vs.length; start += k) {
      const chunk = vs.slice(start, start + k);
      if (chunk.length === 1 && this.products) {
        out.push(await this.hvpProduct(batch, chunk[0]!));
        continue;
      }
      for (let j = 0; j < k; j++) {
        const tangents = j < chunk.length ? this.unflatten(chunk[j]!) : (zero ??= this.unflatten(new Float64Array(this.dim)));
        for (const [p, t] of tangents) feeds[probes[j]!.tangentInputs.get(p)!] = t;
      }
      const res = await runSession(session, feeds);
      for (let j = 0; j < chunk.length; j++) out.push(this.flatten((p) => res[probes[j]!.hvps.get(p)!]!));
    }
    return out;
  }

  /** Probes per run of hvpProducts (1 without a block graph). */
  get blockSize(): number {
    return this.block?.probes.length ?? 1;
  }

  /** Whether hvpProduct() is available. */
  get hasProducts(): boolean {
    return this.products !== null;
  }

  /**
   * Per-example gradient Gram matrix, squared norms per tensor and the summed gradient of one
   * batch, batched where the layer type allows (per-example.ts) and by per-sample runs otherwise.
   */
  async perExampleStats(batch: Batch): Promise<PerExampleStats> {
    if (!this.perExample) {
      const pe = buildPerExampleGrams(this.prepared);
      this.perExample = {
        session: await createSession(serializeModel(this.fixedParameters ? bakeParameters(pe.gradient.model, this.prepared.values) : pe.gradient.model)),
        grads: pe.gradient.grads,
        grams: pe.grams,
        sqsums: pe.sqsums,
        fallback: pe.fallback,
      };
    }
    const { session, grads, grams, sqsums, fallback } = this.perExample;
    const n = batch.labels.dims[0]!;
    const ones = tensor(this.prepared.dtype, [n], new Array(n).fill(1));
    const summed = { ...batch, weights: ones };
    const out = await runSession(session, this.feeds(summed), [...grads.values(), ...grams.values(), ...sqsums.values()]);
    const sqSum = this.flatten((p) => out[sqsums.get(p) ?? grads.get(p)!]!);
    for (const p of fallback) this.slice(sqSum, p).fill(0);
    const gram = new Float64Array(n * n);
    const sqNorms = new Map<string, Float64Array>();
    for (const [p, name] of grams) {
      const k = out[name]!.data as Float32Array;
      const diag = new Float64Array(n);
      for (let i = 0; i < n * n; i++) gram[i] += k[i]!;
      for (let i = 0; i < n; i++) diag[i] = k[i * n + i]!;
      sqNorms.set(p, diag);
    }
    if (fallback.length > 0) {
      const rows: Float64Array[] = [];
      for (let i = 0; i < n; i++) {
        const one = sliceBatch(summed, i);
        const g = await this.gradient(one);
        rows.push(this.restrict(g.grad, fallback));
      }
      for (const p of fallback) sqNorms.set(p, new Float64Array(n));
      for (const row of rows) {
        let offset = 0;
        for (const p of fallback) {
          const target = this.slice(sqSum, p);
          for (let k = 0; k < target.length; k++) target[k] += row[offset + k]! ** 2;
          offset += target.length;
        }
      }
      for (let i = 0; i < n; i++) {
        for (let j = i; j < n; j++) {
          let s = 0;
          const a = rows[i]!;
          const c = rows[j]!;
          for (let k = 0; k < a.length; k++) s += a[k]! * c[k]!;
          gram[i * n + j] += s;
          if (j !== i) gram[j * n + i] += s;
        }
        let offset = 0;
        for (const p of fallback) {
          const size = this.prepared.values.get(p)!.data.length;
          let s = 0;
          for (let k = offset; k < offset + size; k++) s += rows[i]![k]! ** 2;
          sqNorms.get(p)![i] = s;
          offset += size;
        }
      }
    }
    return { batch: n, sumGrad: this.flatten((p) => out[grads.get(p)!]!), gram, sqNorms, sqSum };
  }

  /** The part of a flat vector that belongs to parameter tensor `p` (a view). */
  slice(flat: Float64Array, p: string): Float64Array {
    const k = this.prepared.params.indexOf(p);
    const o = this.offsets[k]!;
    return flat.subarray(o, o + this.prepared.values.get(p)!.data.length);
  }

  /** The entries of a flat vector that belong to `names`, concatenated in that order. */
  private restrict(flat: Float64Array, names: string[]): Float64Array {
    const parts = names.map((p) => this.slice(flat, p));
    const out = new Float64Array(parts.reduce((s, x) => s + x.length, 0));
    let o = 0;
    for (const part of parts) {
      out.set(part, o);
      o += part.length;
    }
    return out;
  }

  async release(): Promise<void> {
    await Promise.all([
      this.lossSession.release(),
      this.gradSession?.release(),
      this.hvpSession?.release(),
      this.products?.session.release(),
      this.block?.session.release(),
      this.perExample?.session.release(),
    ]);
  }

  private feeds(batch: Batch): Record<string, Tensor> {
    const n = batch.labels.dims[0]!;
    const feeds: Record<string, Tensor> = { [this.prepared.labels]: this.cast(batch.labels, this.labelsDType) };
    if (this.prepared.weights) {
      feeds[this.prepared.weights] = batch.weights
        ? this.cast(batch.weights, this.prepared.dtype)
        : tensor(this.prepared.dtype, [n], new Array(n).fill(1 / n));
    }
    for (const [name, t] of Object.entries(batch.inputs)) feeds[name] = this.cast(t, this.prepared.dtype);
    if (!this.fixedParameters) for (const [p, t] of this.params) feeds[p] = t;
    return feeds;
  }


  private cast(t: Tensor, dtype: Tensor['dtype']): Tensor {
    if (t.dtype === dtype) return t;
    return tensor(dtype, t.dims, t.data as ArrayLike<number>);
  }

  private flatten(get: (p: string) => Tensor): Float64Array {
    const out = new Float64Array(this.dim);
    this.prepared.params.forEach((p, k) => {
      out.set(get(p).data as Float32Array, this.offsets[k]!);
    });
    return out;
  }

  private unflatten(flat: Float64Array): Map<string, Tensor> {
    if (flat.length !== this.dim) throw new Error(`expected ${this.dim} values, got ${flat.length}`);
    const out = new Map<string, Tensor>();
    this.prepared.params.forEach((p, k) => {
      const ref = this.prepared.values.get(p)!;
      const o = this.offsets[k]!;
      out.set(p, tensor(this.prepared.dtype, ref.dims, flat.subarray(o, o + ref.data.length)));
    });
    return out;
  }
}
