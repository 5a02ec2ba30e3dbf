/** The evaluate section of `npm run bench`. */
import { benchEvaluate } from './evaluate.js';
import type { BenchSection } from './section.js';

export async function evaluateSection(): Promise<BenchSection> {
  const results = await benchEvaluate();
  return {
    title: 'evaluate: cnn_mnist_pytorch.onnx over MNIST (CSV tiled to 2000), median of 5 after a warm-up',
    rows: results.map((r) => ({
      batch: r.batchSize,
      'samples/s': Math.round(r.samplesPerSecond),
      'run ms': Number(r.wallMs.toFixed(1)),
      batched: String(r.batched),
      provider: r.provider ?? '?',
    })),
    notes: [`speed-up batch ${results.at(-1)?.batchSize} vs ${results[0]?.batchSize}: ${(results.at(-1)!.samplesPerSecond / results[0]!.samplesPerSecond).toFixed(2)}x`],
  };
}
