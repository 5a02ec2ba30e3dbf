/**
 * The gate section of `npm run bench`: one CI gate (evaluate, top Hessian eigenvalue, gradient
 * coherence, robustness of two samples) on cnn_mnist_pytorch.onnx over the MNIST CSV, embedded,
 * run cold on a fresh data dir and then again on unchanged inputs (every analysis from the cache).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../service/config.js';
import { listAnalyzers } from '../analyzers/registry.js';
import { buildGraphQLSchema } from '../resolvers/index.js';
import { loadGateConfig } from '../gate/config.js';
import { embeddedBackend } from '../gate/embedded.js';
import { runGate } from '../gate/run.js';
import { testData } from '../test/helpers/test-data.js';
import type { BenchSection } from './section.js';

const CONFIG = `
model: ${testData('onnxruntime/cnn_mnist_pytorch.onnx')}
data: ${testData('eran/mnist_test.csv')}
analyses:
  hessian:
    params: { compute: [top], topK: 1, maxIter: 20 }
  coherence:
    params: { maxSamples: 64 }
  robust:
    analyzer: safety
    params: { indices: [0, 1], inputRange: [0, 255], eps: 1, timeout: 10 }
rules:
  - evaluate.accuracy >= 0.9
  - hessian.topEigenvalues[0] <= 200
  - coherence.mCoherence >= 0.5
  - robust.status == holds
`;

export async function gateSection(): Promise<BenchSection> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-bench-gate-'));
  try {
    const file = path.join(dir, 'gate.yml');
    writeFileSync(file, CONFIG);
    const config = loadGateConfig(file, {}, { schema: await buildGraphQLSchema(), analyzers: listAnalyzers() });
    const rows: BenchSection['rows'] = [];
    for (const run of ['cold', 'cached', 'cached']) {
      const backend = await embeddedBackend(loadConfig({ dataDir: path.join(dir, 'data') }));
      try {
        const t0 = performance.now();
        const report = await runGate(config, backend, { analysis: () => undefined, progress: () => undefined }, new AbortController().signal);
        const seconds = (performance.now() - t0) / 1000;
        rows.push({
          run,
          analyses: report.counts.analyses,
          cached: report.counts.cached,
          'rules passed': `${report.counts.passed}/${report.counts.rules}`,
          seconds: Number(seconds.toFixed(3)),
          'analyses/s': Number((report.counts.analyses / seconds).toFixed(1)),
        });
      } finally {
        await backend.close();
      }
    }
    return {
      title: 'CI gate (cnn_mnist_pytorch, 4 analyses, embedded): cold run vs unchanged inputs',
      rows,
      notes: [`cached / cold time: ${((rows[2]!.seconds as number) / (rows[0]!.seconds as number)).toFixed(4)}`],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
