/**
 * kill -9 during queued and running jobs, then a restart on the same data dir. Per round:
 * results finished before the kill must read back unchanged (and their artifacts), the SQLite
 * file must pass PRAGMA integrity_check, every job must end (requeued and finished, or failed
 * with a reason), and every blob must be whole (its sha256 is its name) and referenced.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Db } from '../../storage/db.js';
import { DB_FILE } from '../../storage/store.js';
import { RUN_ANALYSIS, UPLOAD_MODEL, type Client } from './client.js';
import { baseModelBytes } from './fixtures.js';
import { startServerProcess } from './server.js';

export interface CrashOptions {
  rounds: number;
  jobsPerRound: number;
  /** How long each test-slow job sleeps, ms (spread over 1x..3x). */
  jobMs: number;
  workers?: number;
}

export interface CrashRound {
  round: number;
  jobs: number;
  /** States at the moment of the kill. */
  doneBeforeKill: number;
  runningAtKill: number;
  queuedAtKill: number;
  integrity: string;
  /** Finished results (and artifacts) that read back unchanged after the restart / all of them. */
  resultsIntact: number;
  resultsLost: number;
  /** After the restart: jobs that finished, failed with a reason, or never ended. */
  succeededAfter: number;
  failedWithReason: number;
  stuck: number;
  truncatedBlobs: number;
  orphanBlobs: number;
  tmpFiles: number;
  restartMs: number;
}

const STATUS = `query($limit: Int!) { analyses(pagination: { limit: $limit }) { items { id status error { code message } } } }`;
const RESULT = `query($id: ID!) { analysis(id: $id) { status resultJson artifacts { name url } } }`;

async function statuses(client: Client, limit: number): Promise<Map<string, { status: string; error: { code: string; message: string } | null }>> {
  const r = await client.gql(STATUS, { limit });
  if (r.body.errors) throw new Error(`analyses query failed: ${r.text}`);
  return new Map(r.body.data!.analyses.items.map((a: any) => [a.id, a]));
}

/** Whole and referenced: every blob file's sha256 is its name, and some row points at it. */
async function checkBlobs(dataDir: string): Promise<{ truncated: number; orphans: number; tmp: number }> {
  const db = await Db.open(path.join(dataDir, DB_FILE));
  const referenced = new Set<string>();
  try {
    for (const sql of ['SELECT sha256 AS s FROM models', 'SELECT COALESCE(blob_sha256, sha256) AS s FROM datasets', 'SELECT sha256 AS s FROM artifacts']) {
      for (const r of await db.all<{ s: string }>(sql)) referenced.add(r.s);
    }
  } finally {
    await db.close();
  }
  const root = path.join(dataDir, 'blobs');
  let truncated = 0;
  let orphans = 0;
  for (const dir of readdirSync(root)) {
    if (dir === 'tmp') continue;
    for (const name of readdirSync(path.join(root, dir))) {
      const sha = createHash('sha256').update(readFileSync(path.join(root, dir, name))).digest('hex');
      if (sha !== name) truncated++;
      if (!referenced.has(name)) orphans++;
    }
  }
  const tmpDir = path.join(root, 'tmp');
  return { truncated, orphans, tmp: existsSync(tmpDir) ? readdirSync(tmpDir).length : 0 };
}

async function integrityOf(dataDir: string): Promise<{ integrity: string; running: number }> {
  const db = await Db.open(path.join(dataDir, DB_FILE));
  try {
    const rows = await db.all<{ integrity_check: string }>('PRAGMA integrity_check');
    const running = (await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM analyses WHERE status = 'RUNNING'`))!.n;
    return { integrity: rows.map((r) => r.integrity_check).join('; '), running };
  } finally {
    await db.close();
  }
}

export async function runCrashRound(round: number, opts: CrashOptions): Promise<CrashRound> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-crash-'));
  const workers = opts.workers ?? 2;
  try {
    let server = await startServerProcess({ dataDir, workers });
    const up = await server.client.upload(UPLOAD_MODEL, {}, { bytes: baseModelBytes(), filename: 'base.onnx' });
    const modelId = up.body.data!.uploadModel.id;
    const ids: string[] = [];
    for (let i = 0; i < opts.jobsPerRound; i++) {
      const params = { ms: opts.jobMs * (1 + (i % 3)), tag: `round-${round}-job-${i}` };
      const r = await server.client.gql(RUN_ANALYSIS, { input: { modelId, analyzer: 'test-slow', params } });
      if (r.body.errors) throw new Error(`job ${i} refused: ${r.text}`);
      ids.push(r.body.data!.runAnalysis.id);
    }
    // Kill once between a quarter and a half of the jobs are done, so some are done, some
    // running and the rest queued.
    const target = Math.max(1, Math.floor(opts.jobsPerRound * (0.25 + 0.25 * ((round * 7919) % 10) / 10)));
    let before = await statuses(server.client, opts.jobsPerRound + 10);
    const deadline = Date.now() + 10 * 60_000;
    while ([...before.values()].filter((a) => a.status === 'SUCCEEDED').length < target && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      before = await statuses(server.client, opts.jobsPerRound + 10);
    }
    const done = new Map<string, { result: string; artifacts: string[] }>();
    for (const [id, a] of before) {
      if (a.status !== 'SUCCEEDED') continue;
      const r = await server.client.gql(RESULT, { id });
      const art = r.body.data!.analysis.artifacts as Array<{ url: string }>;
      const texts = await Promise.all(art.map(async (x) => (await server.client.raw(x.url)).text));
      done.set(id, { result: JSON.stringify(r.body.data!.analysis.resultJson), artifacts: texts });
    }
    const counts = (s: string) => [...before.values()].filter((a) => a.status === s).length;
    await server.kill9();
    // The workers notice their parent is gone (IPC disconnect) and exit; give them a moment.
    await new Promise((r) => setTimeout(r, 500));
    const { integrity } = await integrityOf(dataDir);

    const t0 = performance.now();
    server = await startServerProcess({ dataDir, workers });
    const restartMs = performance.now() - t0;
    let after = await statuses(server.client, opts.jobsPerRound + 10);
    const endBy = Date.now() + 10 * 60_000;
    while ([...after.values()].some((a) => a.status === 'QUEUED' || a.status === 'RUNNING') && Date.now() < endBy) {
      await new Promise((r) => setTimeout(r, 200));
      after = await statuses(server.client, opts.jobsPerRound + 10);
    }
    let intact = 0;
    for (const [id, was] of done) {
      const r = await server.client.gql(RESULT, { id });
      const a = r.body.data?.analysis;
      const art = (a?.artifacts ?? []) as Array<{ url: string }>;
      const texts = await Promise.all(art.map(async (x) => (await server.client.raw(x.url)).text));
      if (a?.status === 'SUCCEEDED' && JSON.stringify(a.resultJson) === was.result && JSON.stringify(texts) === JSON.stringify(was.artifacts)) intact++;
    }
    const final = [...after.values()];
    await server.stop();
    const blobs = await checkBlobs(dataDir);
    return {
      round,
      jobs: ids.length,
      doneBeforeKill: counts('SUCCEEDED'),
      runningAtKill: counts('RUNNING'),
      queuedAtKill: counts('QUEUED'),
      integrity,
      resultsIntact: intact,
      resultsLost: done.size - intact,
      succeededAfter: final.filter((a) => a.status === 'SUCCEEDED').length,
      failedWithReason: final.filter((a) => a.status === 'FAILED' && a.error?.code && a.error.message).length,
      stuck: final.filter((a) => !(a.status === 'SUCCEEDED' || (a.status === 'FAILED' && a.error?.code && a.error.message) || a.status === 'CANCELLED')).length,
      truncatedBlobs: blobs.truncated,
      orphanBlobs: blobs.orphans,
      tmpFiles: blobs.tmp,
      restartMs,
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function runCrashSuite(opts: CrashOptions): Promise<CrashRound[]> {
  const rounds: CrashRound[] = [];
  for (let r = 0; r < opts.rounds; r++) rounds.push(await runCrashRound(r, opts));
  return rounds;
}
