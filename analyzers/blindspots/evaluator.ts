/**
 * Source-class confidence and its input gradient for a batch of images, from one run of the
 * input-gradient graph: p_s = exp(-l_s) where l_s is the per-sample cross-entropy/NLL of the
 * source class s, and g = d CE(f(x), s) / dx.
 */
import type * as ort from 'onnxruntime-node';
import { serializeModel, type Model } from '../../native/onnx/ir.js';
import { createSession, runSession } from '../../native/runtime/session.js';
import { inputGradientGraph, type InputGradientGraph } from '../../native/autodiff/index.js';
import { prepareBatched } from '../../native/onnx/batchify.js';
import { tensor } from '../../native/onnx/tensor.js';
import { AppError } from '../../common/errors.js';

export interface Evaluation {
  /** p_s per sample. */
  confidence: Float64Array;
  /** argmax of the model output per sample. */
  predicted: Int32Array;
  /** d CE / dx, sample-major (only when asked for). */
  grad: Float32Array | null;
}

export class ConfidenceEvaluator {
  private constructor(
    private readonly graph: InputGradientGraph,
    private readonly session: ort.InferenceSession,
    /** Samples per run (1 when a fixed batch size could not be made symbolic). */
    readonly maxBatch: number,
    readonly sampleShape: number[],
  ) {}

  static async create(model: Model, sampleShape: number[], batch: number): Promise<ConfidenceEvaluator> {
    const plan = await prepareBatched(model);
    const graph = await inputGradientGraph(plan.model);
    if (!['cross-entropy', 'nll', 'nll-of-probabilities'].includes(graph.lossKind)) {
      throw new AppError('BAD_MODEL', `blind-spot traversal needs a multi-class classifier; this model's loss is ${graph.lossKind}`);
    }
    const session = await createSession(serializeModel(graph.model));
    return new ConfidenceEvaluator(graph, session, plan.batched ? batch : 1, sampleShape);
  }

  async evaluate(x: Float32Array, labels: Int32Array, withGrad = true): Promise<Evaluation> {
    const n = labels.length;
    const per = x.length / n;
    const confidence = new Float64Array(n);
    const predicted = new Int32Array(n);
    const grad = withGrad ? new Float32Array(x.length) : null;
    for (let start = 0; start < n; start += this.maxBatch) {
      const m = Math.min(this.maxBatch, n - start);
      const feeds = {
        [this.graph.input]: { dtype: 'float32' as const, dims: [m, ...this.sampleShape], data: x.subarray(start * per, (start + m) * per) },
        [this.graph.labels]: tensor('int64', [m], labels.subarray(start, start + m)),
        [this.graph.weights]: tensor('float32', [m], new Array(m).fill(1)),
      };
      const wanted = [this.graph.sampleLosses, this.graph.output, ...(withGrad ? [this.graph.grad] : [])];
      const out = await runSession(this.session, feeds, wanted);
      const losses = out[this.graph.sampleLosses]!.data as Float32Array;
      const logits = out[this.graph.output]!.data as Float32Array;
      const classes = logits.length / m;
      for (let i = 0; i < m; i++) {
        confidence[start + i] = Math.exp(-losses[i]!);
        let best = 0;
        for (let c = 1; c < classes; c++) if (logits[i * classes + c]! > logits[i * classes + best]!) best = c;
        predicted[start + i] = best;
      }
      if (grad) grad.set(out[this.graph.grad]!.data as Float32Array, start * per);
    }
    return { confidence, predicted, grad };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
