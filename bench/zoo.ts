/**
 * The zoo section of `npm run bench`: models analyzed per minute for a zoo of small MLPs
 * (4 -> width -> 3 on 3 Gaussian blobs, 60 train / 30 test samples; trained by the autodiff),
 * embedded driver, then the same zoo on 1, 2, 3 `onnxscope worker` processes behind BullMQ
 * (zoo-distributed.ts), each configuration on a fresh data dir (no cache hits).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../service/config.js';
import { openLocalServices } from '../service/local.js';
import { writeMlpZoo } from '../test/helpers/mlpZoo.js';
import type { BenchSection } from './section.js';
import { distributedZooRows } from './zoo-distributed.js';

const CONFIGS: Array<{ analyzers: string[]; concurrency: number }> = [
  { analyzers: ['evaluate'], concurrency: 1 },
  { analyzers: ['evaluate', 'hessian'], concurrency: 1 },
  { analyzers: ['evaluate', 'hessian', 'landscape'], concurrency: 1 },
  { analyzers: ['evaluate', 'hessian', 'landscape'], concurrency: 4 },
];

const PARAMS = {
  hessian: { compute: ['top', 'trace'], maxIter: 30, maxProbes: 60 },
  landscape: { points: 11, curveEpochs: 5, batchSize: 32 },
};

export async function zooSection(): Promise<BenchSection> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-bench-zoo-'));
  const notes: string[] = [];
  try {
    const fx = await writeMlpZoo(path.join(dir, 'zoo'), { widths: [4, 16, 64], batchSizes: [8, 32], seeds: [1, 2], steps: 60 });
    const rows: BenchSection['rows'] = [];
    for (const [k, c] of CONFIGS.entries()) {
      const services = await openLocalServices(loadConfig({ dataDir: path.join(dir, `data-${k}`) }));
      try {
        const zoos = services.zoos;
        const zoo = await zoos.createZoo({
          manifest: { text: await readFile(fx.manifest, 'utf8'), filename: 'manifest.json' },
          readFile: async (f) => new Uint8Array(await readFile(path.join(fx.dir, f))),
        });
        const ingest = async (f: string) => services.datasets.ingest({ bytes: new Uint8Array(await readFile(f)), filename: path.basename(f) });
        const train = await ingest(fx.train);
        const test = await ingest(fx.test);
        const models = fx.specs.length;
        const t0 = performance.now();
        const run = await zoos.startRun({ zooId: zoo.id, analyzers: c.analyzers, params: PARAMS, datasetId: train.id, testDatasetId: test.id, concurrency: c.concurrency });
        const p = await zoos.runEmbedded(run.id, () => undefined, new AbortController().signal);
        const seconds = (performance.now() - t0) / 1000;
        const failures = await zoos.failures(run.id);
        if (failures.length > 0) notes.push(`${c.analyzers.join('+')}: ${failures.length} failed, e.g. ${failures[0]!.analyzer}: ${failures[0]!.error?.code} ${failures[0]!.error?.message}`);
        rows.push({
          analyzers: c.analyzers.join('+'),
          concurrency: c.concurrency,
          models,
          analyses: p.total,
          failed: p.failed,
          seconds: Number(seconds.toFixed(2)),
          'models/min': Math.round((models / seconds) * 60),
        });
      } finally {
        await services.close();
      }
    }
    rows.push(...(await distributedZooRows(fx, ['evaluate', 'hessian'], PARAMS, [1, 2, 3])));
    notes.push('"N workers": a server with ONNXSCOPE_QUEUE (BullMQ on a local redis-server) and N onnxscope worker processes, each job in a sandboxed child; compare with the embedded evaluate+hessian row');
    notes.push('12 MLPs: widths 4/16/64 x batch sizes 8/32 x 2 seeds; landscape = one pair per (width, batch size): line + Bezier curve (5 epochs) + CKA');
    notes.push('concurrency > 1 in one process shares ONNX Runtime\'s intra-op threads (and the event loop); the server scales across worker processes instead');
    return { title: 'zoo: models analyzed per minute (embedded, fresh cache)', rows, notes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
