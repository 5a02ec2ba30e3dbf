/**
 * Load: latency of cheap reads (the model list, a cached result) at a fixed concurrency, alone
 * and while two Hessian analyses run, and 10 identical analysis requests sent at once (they
 * must be computed once: one job, the others attached to it or answered from its result).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RUN_ANALYSIS, UPLOAD_DATASET, UPLOAD_MODEL, type Client } from './client.js';
import { startServerProcess } from './server.js';
import { MNIST_CSV, MNIST_MODEL } from '../helpers/serviceHarness.js';

export interface LatencyRow {
  phase: string;
  requests: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ComputeOnce {
  requests: number;
  distinctAnalyses: number;
  /** Jobs that actually ran (analyses not answered from the cache and not shared). */
  computations: number;
  sameResult: boolean;
}

export interface LoadReport {
  latency: LatencyRow[];
  computeOnce: ComputeOnce;
  hessianSeconds: number[];
}

const quantile = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN);

/** `concurrency` loops of cheap reads for `ms` milliseconds. */
async function cheapReads(client: Client, phase: string, concurrency: number, ms: number, cachedId: string): Promise<LatencyRow> {
  const times: number[] = [];
  let errors = 0;
  const end = Date.now() + ms;
  const loop = async (k: number) => {
    for (let i = k; Date.now() < end; i++) {
      const r = i % 2 === 0 ? await client.gql('{ models { id name sha256 } }') : await client.gql(`query($id: ID!) { analysis(id: $id) { status resultJson } }`, { id: cachedId });
      if (r.body.errors || r.status !== 200) errors++;
      times.push(r.ms);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, k) => loop(k)));
  times.sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 10) / 10;
  return { phase, requests: times.length, errors, p50Ms: round(quantile(times, 0.5)), p99Ms: round(quantile(times, 0.99)), maxMs: round(times[times.length - 1] ?? NaN) };
}

/** 10 identical requests at once; how many jobs ran and whether every answer has the same result. */
export async function computeOnce(client: Client, input: Record<string, unknown>, requests = 10): Promise<ComputeOnce> {
  const replies = await Promise.all(Array.from({ length: requests }, () => client.gql(RUN_ANALYSIS, { input })));
  const ids = replies.map((r) => {
    if (r.body.errors) throw new Error(`runAnalysis refused: ${r.text}`);
    return r.body.data!.runAnalysis.id as string;
  });
  const distinct = [...new Set(ids)];
  const results = new Set<string>();
  let computations = 0;
  for (const id of distinct) {
    const done = await client.waitFor(id, 300_000);
    if (!done.cached) computations++;
    const r = await client.gql(`query($id: ID!) { analysis(id: $id) { resultJson } }`, { id });
    results.add(JSON.stringify(r.body.data?.analysis?.resultJson));
  }
  return { requests, distinctAnalyses: distinct.length, computations, sameResult: results.size === 1 };
}

export interface LoadOptions {
  concurrency: number;
  /** How long each latency phase lasts, ms. */
  phaseMs: number;
  hessianParams: Record<string, unknown>;
}

export async function runLoad(opts: LoadOptions): Promise<LoadReport> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-load-'));
  const server = await startServerProcess({ dataDir, workers: 2, env: { ONNXSCOPE_LOG_LEVEL: 'error' } });
  const c = server.client;
  try {
    const m = await c.upload(UPLOAD_MODEL, { name: 'mnist' }, { bytes: readFileSync(MNIST_MODEL), filename: 'cnn.onnx' });
    const modelId = m.body.data!.uploadModel.id;
    const d = await c.upload(UPLOAD_DATASET, { modelId }, { bytes: readFileSync(MNIST_CSV), filename: 'mnist.csv' });
    if (d.body.errors) throw new Error(`dataset refused: ${d.text}`);
    const datasetId = d.body.data!.uploadDataset.id;
    const once = await computeOnce(c, { modelId, datasetId, analyzer: 'evaluate', params: { batchSize: 10 } });
    const cachedId = (await c.gql(RUN_ANALYSIS, { input: { modelId, datasetId, analyzer: 'evaluate', params: { batchSize: 10 } } })).body.data!.runAnalysis.id;
    const latency = [await cheapReads(c, 'idle', opts.concurrency, opts.phaseMs, cachedId)];
    const started = Date.now();
    const hessians = await Promise.all(
      [1, 2].map(async (seed) => (await c.gql(RUN_ANALYSIS, { input: { modelId, datasetId, analyzer: 'hessian', params: { ...opts.hessianParams, seed } } })).body.data!.runAnalysis.id as string),
    );
    // Wait until both are RUNNING (the workers loaded the model), then measure.
    for (;;) {
      const s = await Promise.all(hessians.map(async (id) => (await c.gql(`query($id: ID!) { analysis(id: $id) { status } }`, { id })).body.data!.analysis.status));
      if (s.every((x) => x === 'RUNNING') || s.some((x) => x === 'SUCCEEDED' || x === 'FAILED')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    latency.push(await cheapReads(c, 'two Hessian analyses running', opts.concurrency, opts.phaseMs, cachedId));
    const hessianSeconds: number[] = [];
    for (const id of hessians) {
      const done = await c.waitFor(id, 30 * 60_000);
      if (done.status !== 'SUCCEEDED') throw new Error(`hessian ${done.status}: ${JSON.stringify(done.error)}`);
      hessianSeconds.push(Math.round((Date.now() - started) / 100) / 10);
    }
    return { latency, computeOnce: once, hessianSeconds };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
