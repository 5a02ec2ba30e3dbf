/**
 * The fuzz run end to end: a fresh `serve` process on a temp dir, the valid model and dataset
 * uploaded, two analyses finished (the "earlier results"), then every class's cases.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RUN_ANALYSIS, UPLOAD_DATASET, UPLOAD_MODEL, type Client } from './client.js';
import { baseModelBytes, baseNpz } from './fixtures.js';
import { allClasses } from './fuzzCases.js';
import { runFuzz, type CaseResult, type FuzzReport } from './fuzz.js';
import { startServerProcess } from './server.js';

export interface FuzzSuiteOptions {
  perClass: number;
  counts?: Record<string, number>;
  longLineBytes: number;
  seed?: number;
  /** The server's job time limit, ms (a job over it is TIMEOUT, a coded error). */
  jobTimeoutMs?: number;
  onCase?: (r: CaseResult) => void;
}

/** Uploads the valid model and dataset and finishes two analyses on them. */
export async function prepareTarget(client: Client): Promise<{ modelId: string; datasetId: string; earlier: Array<{ id: string; result: unknown }> }> {
  const m = await client.upload(UPLOAD_MODEL, { name: 'base' }, { bytes: baseModelBytes(), filename: 'base.onnx' });
  if (m.body.errors) throw new Error(`base model refused: ${m.text}`);
  const modelId = m.body.data!.uploadModel.id as string;
  const d = await client.upload(UPLOAD_DATASET, { modelId }, { bytes: baseNpz(16), filename: 'base.npz' });
  if (d.body.errors) throw new Error(`base dataset refused: ${d.text}`);
  const datasetId = d.body.data!.uploadDataset.id as string;
  const earlier: Array<{ id: string; result: unknown }> = [];
  for (const input of [{ modelId, datasetId, analyzer: 'evaluate' }, { modelId, analyzer: 'weights' }]) {
    const r = await client.gql(RUN_ANALYSIS, { input });
    if (r.body.errors) throw new Error(`baseline ${input.analyzer} refused: ${r.text}`);
    const done = await client.waitFor(r.body.data!.runAnalysis.id);
    if (done.status !== 'SUCCEEDED') throw new Error(`baseline ${input.analyzer} ${done.status}: ${JSON.stringify(done.error)}`);
    const res = await client.gql(`query($id: ID!) { analysis(id: $id) { resultJson } }`, { id: done.id });
    earlier.push({ id: done.id, result: res.body.data!.analysis.resultJson });
  }
  return { modelId, datasetId, earlier };
}

export async function runFuzzSuite(opts: FuzzSuiteOptions): Promise<FuzzReport & { serverOutput: string }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-fuzz-'));
  const jobTimeoutMs = opts.jobTimeoutMs ?? 30_000;
  const server = await startServerProcess({ dataDir, workers: 1, env: { ONNXSCOPE_JOB_TIMEOUT_MS: String(jobTimeoutMs) } });
  try {
    const target = await prepareTarget(server.client);
    const report = await runFuzz(server.client, {
      classes: allClasses({ longLineBytes: opts.longLineBytes }),
      perClass: opts.perClass,
      counts: opts.counts,
      seed: opts.seed ?? 24,
      ...target,
      requestTimeoutMs: 60_000,
      // A worker that crashes is retried once (jobAttempts 2), each attempt up to the job limit.
      jobWaitMs: 2 * jobTimeoutMs + 30_000,
      alive: () => !server.dead(),
      onCase: opts.onCase,
    });
    return { ...report, serverOutput: server.outputTail() };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
