/** Worker thread of dense-pool.ts: computes boundsOfBatch for the parts of batches it is sent. */
import { parentPort, workerData } from 'node:worker_threads';
import { boundsOfBatch, outBuffers, type BoundsJob } from './dense-pool.js';
import type { DenseNet } from './dense.js';

const net = (workerData as { net: DenseNet }).net;
parentPort!.on('message', (m: { id: number; job: BoundsJob }) => {
  try {
    const out = boundsOfBatch(net, m.job);
    parentPort!.postMessage({ id: m.id, out }, outBuffers(out));
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) });
  }
});
