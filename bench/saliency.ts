/**
 * Saliency section of the benchmarks: maps per second on MNIST (ONNX Runtime's CNTK model,
 * 100 test images), whole batches through the rewritten model against one sample per call
 * (what a fixed-batch export costs without the batch rewrite). Session setup and graph
 * building are excluded (one warm-up pass); median of `repeats` passes.
 * Run: `npm run build && node dist/bench/saliency.js`.
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { loadCsv } from '../datasets/csv.js';
import { conformDataset } from '../datasets/conform.js';
import { prepareSaliencyModel, SaliencyRunner } from '../analyzers/saliency/engine.js';
import { rawMaps, resolveLayer, runnerSpec, type MapSpec, type Method } from '../analyzers/saliency/compute.js';
import { inputGeometry } from '../analyzers/saliency/layers.js';
import { loadTestModel, readTestData } from '../test/helpers/test-data.js';
import { median, type BenchSection } from './section.js';

export interface SaliencyTiming {
  method: string;
  samples: number;
  batch: number;
  batchedMapsPerSec: number;
  perSampleMapsPerSec: number;
  speedup: number;
}


export async function benchSaliency(opts: { batch?: number; repeats?: number } = {}): Promise<SaliencyTiming[]> {
  const loaded = loadTestModel('onnxruntime/mnist.onnx');
  const ir = loaded.ir;
  const data = conformDataset(loadCsv(readTestData('eran/mnist_test.csv'), 'bench'), ir);
  const per = data.sampleShape.reduce((a, b) => a * b, 1);
  const sm = await prepareSaliencyModel(loaded, data.x.subarray(0, 3 * per));
  const batch = opts.batch ?? 32;
  const repeats = opts.repeats ?? 3;
  const indices = Array.from({ length: data.count }, (_, i) => i);
  const out: SaliencyTiming[] = [];
  const methods: [Method, number][] = [['normgrad', 1], ['gradcampp', 1], ['smoothgradcampp', 8], ['gradient', 1], ['smoothgrad', 8]];
  for (const [method, samples] of methods) {
    const layers = method === 'gradient' || method === 'smoothgrad'
      ? [{ name: sm.input, geometry: { layout: 'channels-first' as const, ...inputGeometry(sm.sampleDims), skipTokens: 0 } }]
      : [resolveLayer(sm, 'ReLU114_Output_0', 'auto', method, 'virtual-identity')];
    const spec: MapSpec = { method, variant: 'virtual-identity', layers, samples, sigma: 0.1, seed: 0 };
    const pass = async (model: typeof sm, bs: number) => {
      const runner = await SaliencyRunner.open(model, runnerSpec(model, spec));
      try {
        const t0 = performance.now();
        for (let s = 0; s < indices.length; s += bs) {
          const chunk = indices.slice(s, s + bs);
          const x = data.x.slice(chunk[0]! * per, (chunk[chunk.length - 1]! + 1) * per);
          await rawMaps(runner, spec, x, chunk.length, chunk, chunk.map(() => 0), null);
        }
        return performance.now() - t0;
      } finally {
        runner.release();
      }
    };
    const single = { ...sm, batched: false };
    await pass(sm, batch);
    await pass(single, 1);
    const tb: number[] = [];
    const ts: number[] = [];
    for (let r = 0; r < repeats; r++) {
      tb.push(await pass(sm, batch));
      ts.push(await pass(single, 1));
    }
    const b = data.count / (median(tb) / 1000);
    const p = data.count / (median(ts) / 1000);
    out.push({ method, samples, batch, batchedMapsPerSec: b, perSampleMapsPerSec: p, speedup: b / p });
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const t of await benchSaliency()) {
    console.log(`${t.method.padEnd(16)} samples ${String(t.samples).padStart(2)}  batch ${t.batch}: ${t.batchedMapsPerSec.toFixed(0).padStart(6)} maps/s   per sample: ${t.perSampleMapsPerSec.toFixed(0).padStart(6)} maps/s   x${t.speedup.toFixed(1)}`);
  }
}

/** The saliency section of `npm run bench`: maps per second on mnist.onnx, batched vs one sample per call. */
export async function saliencySection(): Promise<BenchSection> {
  const rows = await benchSaliency();
  return {
    title: 'saliency maps per second (mnist.onnx, 100 MNIST images, last ReLU layer)',
    rows: rows.map((t) => ({
      method: t.method,
      'noisy copies': t.samples,
      batch: t.batch,
      'batched maps/s': Math.round(t.batchedMapsPerSec),
      'per-sample maps/s': Math.round(t.perSampleMapsPerSec),
      speedup: Number(t.speedup.toFixed(2)),
    })),
  };
}
