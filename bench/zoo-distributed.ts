/**
 * The distributed rows of the zoo bench: the same zoo through a server with ONNXSCOPE_QUEUE
 * (BullMQ on a local redis-server) and 1, 2, 3 `onnxscope worker` processes, each configuration
 * on a fresh data dir and fresh worker caches (blobs fetched from the server count).
 */
import { readFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestService } from '../test/helpers/serviceHarness.js';
import { startRedis, startWorker } from '../test/helpers/distributed.js';
import type { ZooFixture } from '../test/helpers/mlpZoo.js';
import type { BenchSection } from './section.js';

const TOKENS = { ONNXSCOPE_TOKENS: 'bench:read,write;bench-worker:worker' };

export async function distributedZooRows(fx: ZooFixture, analyzers: string[], params: Record<string, Record<string, unknown>>, workerCounts: number[]): Promise<BenchSection['rows']> {
  const redis = await startRedis();
  const rows: BenchSection['rows'] = [];
  try {
    for (const n of workerCounts) {
      const svc = await startTestService({ queueUrl: redis.url }, TOKENS);
      const workers = Array.from({ length: n }, () => startWorker({ queueUrl: redis.url, serverUrl: svc.url, token: 'bench-worker', env: { ONNXSCOPE_LOG_LEVEL: 'warn' } }));
      try {
        while ((svc.app.remote?.workers().length ?? 0) < n) await sleep(100);
        const zoos = svc.app.zoos;
        const zoo = await zoos.createZoo({
          manifest: { text: await readFile(fx.manifest, 'utf8'), filename: 'manifest.json' },
          readFile: async (f) => new Uint8Array(await readFile(path.join(fx.dir, f))),
        });
        const ingest = async (f: string) => svc.app.datasets.ingest({ bytes: new Uint8Array(await readFile(f)), filename: path.basename(f) });
        const train = await ingest(fx.train);
        const test = await ingest(fx.test);
        const t0 = performance.now();
        const run = await zoos.startRun({ zooId: zoo.id, analyzers, params, datasetId: train.id, testDatasetId: test.id });
        let p = await zoos.progress(run.id);
        while ((await zoos.run(run.id)).status !== 'FINISHED') {
          await sleep(50);
          p = await zoos.progress(run.id);
        }
        const seconds = (performance.now() - t0) / 1000;
        rows.push({
          analyzers: analyzers.join('+'),
          concurrency: `${n} worker${n > 1 ? 's' : ''}`,
          models: fx.specs.length,
          analyses: p.total,
          failed: p.failed,
          seconds: Number(seconds.toFixed(2)),
          'models/min': Math.round((fx.specs.length / seconds) * 60),
        });
      } finally {
        await Promise.all(workers.map((w) => w.stop()));
        await svc.stop();
        for (const d of [svc.dataDir, ...workers.map((w) => w.cacheDir)]) rmSync(d, { recursive: true, force: true });
      }
    }
  } finally {
    await redis.stop();
    rmSync(redis.dir, { recursive: true, force: true });
  }
  return rows;
}
