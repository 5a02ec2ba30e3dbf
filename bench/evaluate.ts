/**
 * Evaluate throughput (samples/s) on a real CNN: cnn_mnist_pytorch.onnx over the MNIST CSV,
 * at batch 1 and batch 64. The 100 shipped rows are tiled to `samples` so a run lasts long
 * enough to time; each setting gets a warm-up run (session creation, batch rewrite) and then
 * the median of `repeats` timed runs of the whole analyzer.
 */
import { evaluateAnalyzer, type EvaluateParams } from '../analyzers/evaluate/index.js';
import { loadDataset } from '../datasets/index.js';
import { runtimeInfo } from '../native/runtime/session.js';
import type { LoadedModel } from '../analyzers/types.js';
import { tile } from './fixtures.js';
import { loadTestModel, readTestData } from '../test/helpers/test-data.js';
import { median } from './section.js';

export interface EvaluateThroughput {
  model: string;
  samples: number;
  batchSize: number;
  /** Median samples/s as the analyzer reports it (streaming loop incl. loss, excl. setup). */
  samplesPerSecond: number;
  /** Median wall time of a whole analyzer run, ms (incl. conforming the dataset). */
  wallMs: number;
  batched: boolean;
  provider: string | null;
}

export interface EvaluateBenchOptions {
  samples?: number;
  repeats?: number;
  batchSizes?: number[];
}



export async function benchEvaluate(opts: EvaluateBenchOptions = {}): Promise<EvaluateThroughput[]> {
  const samples = opts.samples ?? 2000;
  const repeats = opts.repeats ?? 5;
  const file = 'onnxruntime/cnn_mnist_pytorch.onnx';
  const model: LoadedModel = loadTestModel(file);
  const csv = loadDataset(readTestData('eran/mnist_test.csv'), 'csv', 'mnist-csv', { preprocessing: { scale: 1 / 255 } });
  const dataset = tile(csv, samples);
  const out: EvaluateThroughput[] = [];
  for (const batchSize of opts.batchSizes ?? [1, 64]) {
    const params: EvaluateParams = { batchSize, loss: 'auto' };
    const run = () => evaluateAnalyzer.run({ model, dataset, params, progress: () => {}, signal: new AbortController().signal });
    await run(); // warm-up: session, batch rewrite and its verification
    const rates: number[] = [];
    const walls: number[] = [];
    let batched = false;
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      const result = await run();
      walls.push(performance.now() - t0);
      rates.push(result.throughput);
      batched = result.batched;
    }
    out.push({ model: file, samples, batchSize, samplesPerSecond: median(rates), wallMs: median(walls), batched, provider: runtimeInfo().providerInUse });
  }
  return out;
}
