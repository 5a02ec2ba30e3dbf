/**
 * The BullMQ queue with real parts: Debian's redis-server on a free loopback port, a server with
 * ONNXSCOPE_QUEUE, three `onnxscope worker` processes with their own cache dirs (as if on three
 * machines). A 24-model zoo with evaluate + hessian gives, analysis by analysis, the same cache
 * keys and the same numbers as the embedded run of the same zoo (the reference, computed in this
 * process). Then: kill -9 a worker mid-job (the job completes on another, once); stop Redis (the
 * server reports the queue down, accepts work, and the work runs when Redis is back); a worker
 * with a bad token is refused.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { Queue } from 'bullmq';
import { loadConfig } from '../service/config.js';
import { openLocalServices, type LocalServices } from '../service/local.js';
import type { ZooService } from '../service/zooService.js';
import { ZOO_QUEUE, redisOptions } from '../service/distributed/connection.js';
import { SLOW_ANALYZER, startTestService, type TestService } from './helpers/serviceHarness.js';
import { startRedis, startWorker, type TestRedis, type TestWorker } from './helpers/distributed.js';
import { writeMlpZoo, type ZooFixture } from './helpers/mlpZoo.js';

const API = 'api-token';
const WORKER = 'worker-token';
const ANALYZERS = ['evaluate', 'hessian'];
const PARAMS = { hessian: { compute: ['top', 'trace'], maxIter: 10, maxProbes: 10 } };

let dir: string;
let fixture: ZooFixture;
let redis: TestRedis;
let svc: TestService;
let workers: TestWorker[] = [];
const workerEnv = () => ({ ONNXSCOPE_ANALYZER_MODULES: SLOW_ANALYZER, ONNXSCOPE_PROGRESS_INTERVAL_MS: '50' });
const spawnWorker = (token = WORKER) => startWorker({ queueUrl: redis.url, serverUrl: svc.url, token, lockMs: 3000, env: workerEnv() });

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-dist-'));
  fixture = await writeMlpZoo(path.join(dir, 'zoo'), { widths: [2, 4, 6], batchSizes: [4, 16], seeds: [1, 2, 3, 4], steps: 10 });
  redis = await startRedis();
  svc = await startTestService({ queueUrl: redis.url }, { ONNXSCOPE_TOKENS: `${API}:read,write;${WORKER}:worker` });
  workers = [spawnWorker(), spawnWorker(), spawnWorker()];
});

after(async () => {
  await Promise.all(workers.map((w) => w.stop(10_000)));
  await svc?.stop();
  await redis?.stop();
  for (const d of [dir, svc?.dataDir, redis?.dir, ...workers.map((w) => w.cacheDir)]) if (d) rmSync(d, { recursive: true, force: true });
});

const gql = (query: string, variables: Record<string, unknown> = {}) => svc.gql(query, variables, API);
const WORKERS = `{ workers { id host pid onnxruntimeVersion executionProvider requestedProvider concurrency currentJobs { analysisId analyzer } lastHeartbeat } }`;

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Measured wall-clock facts (evaluate's runMs and throughput, hessian's durationMs) differ run to run; every other number must not. */
const TIMINGS = new Set(['runMs', 'throughput', 'durationMs']);
function withoutTimings(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutTimings);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => !TIMINGS.has(k)).map(([k, x]) => [k, withoutTimings(x)]));
  return v;
}

async function makeZoo(zoos: ZooService, services: Pick<LocalServices, 'datasets'>) {
  const zoo = await zoos.createZoo({
    manifest: { text: readFileSync(fixture.manifest, 'utf8'), filename: 'manifest.json' },
    readFile: async (f) => new Uint8Array(readFileSync(path.join(fixture.dir, f))),
  });
  const train = await services.datasets.ingest({ bytes: new Uint8Array(readFileSync(fixture.train)), filename: 'train.csv' });
  return { zoo, train };
}

test('a worker with a bad token, or a token without the worker scope, is refused (exit 2, a clear line)', { timeout: 60_000 }, async () => {
  const bad = spawnWorker('not-a-token');
  const api = spawnWorker(API);
  try {
    assert.equal(await bad.exited, 2, bad.output());
    assert.match(bad.output(), /UNAUTHENTICATED: the server refused the worker token/);
    assert.equal(await api.exited, 2, api.output());
    assert.match(api.output(), /FORBIDDEN: the worker token lacks the worker scope/);
  } finally {
    for (const w of [bad, api]) rmSync(w.cacheDir, { recursive: true, force: true });
  }
  // And the worker API itself answers 401 without a token.
  const res = await request(svc.url).get('/worker/v1/hello');
  assert.equal(res.status, 401);
});

test('a 24-model zoo (evaluate + hessian) on three workers: same cache keys and numbers as the embedded run', { timeout: 600_000 }, async () => {
  // The reference: the same zoo in this process, embedded (no queue, no Redis).
  const refDir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-dist-ref-'));
  const reference = new Map<string, unknown>();
  const local = await openLocalServices(loadConfig({ dataDir: refDir, logLevel: 'warn' }, {}));
  try {
    const zoos = local.zoos;
    const { zoo, train } = await makeZoo(zoos, local);
    const run = await zoos.startRun({ zooId: zoo.id, analyzers: ANALYZERS, params: PARAMS, datasetId: train.id, concurrency: 1 });
    const done = await zoos.runEmbedded(run.id, () => undefined, new AbortController().signal);
    assert.equal(done.succeeded, 48, JSON.stringify(await zoos.failures(run.id)));
    for (const it of await zoos.repo.items(run.id, 'SUCCEEDED')) reference.set(it.cacheKey!, (await local.store.results.get(it.cacheKey!))!.result);
  } finally {
    await local.close();
    rmSync(refDir, { recursive: true, force: true });
  }
  assert.equal(reference.size, 48);

  const live = await until('three workers in the registry', async () => {
    const w = (await gql(WORKERS)).body.data?.workers as Array<Record<string, any>> | undefined;
    return w && w.length === 3 ? w : undefined;
  });
  for (const w of live) {
    assert.equal(w.host, os.hostname());
    assert.equal(w.executionProvider, 'cpu');
    assert.equal(w.requestedProvider, 'cpu');
    assert.ok(Date.now() - Date.parse(w.lastHeartbeat) < 15_000);
  }
  assert.deepEqual(new Set(live.map((w) => w.pid)), new Set(workers.map((w) => w.proc.pid)));

  const zoos = svc.app.zoos;
  const { zoo, train } = await makeZoo(zoos, svc.app);
  const run = await zoos.startRun({ zooId: zoo.id, analyzers: ANALYZERS, params: PARAMS, datasetId: train.id, concurrency: 2 });
  const finished = await until('the zoo run to finish', async () => {
    const r = (await gql(`query($id: ID!) { zooRun(id: $id) { status total done succeeded failed } }`, { id: run.id })).body.data?.zooRun;
    return r?.status === 'FINISHED' ? r : undefined;
  }, 540_000);
  assert.deepEqual({ total: finished.total, succeeded: finished.succeeded, failed: finished.failed }, { total: 48, succeeded: 48, failed: 0 });
  const items = await zoos.repo.items(run.id, 'SUCCEEDED');
  assert.deepEqual(new Set(items.map((i) => i.cacheKey)), new Set(reference.keys()), 'same cache keys');
  for (const it of items) {
    const got = (await svc.app.store.results.get(it.cacheKey!))!.result;
    assert.deepEqual(withoutTimings(got), withoutTimings(reference.get(it.cacheKey!)), `${it.analyzer} of ${it.modelId}`);
  }
  // The zoo run was one BullMQ flow: its parent completed once every child had.
  const parents = new Queue(ZOO_QUEUE, { connection: redisOptions(redis.url) });
  try {
    assert.equal((await parents.getJobCounts('completed')).completed, 1);
  } finally {
    await parents.close();
  }
  // The work spread over the workers, each fetching blobs into its own cache.
  const cached = workers.filter((w) => existsSync(path.join(w.cacheDir, 'blobs')) && readdirSync(path.join(w.cacheDir, 'blobs')).some((d) => d !== 'tmp'));
  assert.ok(cached.length >= 2, `${cached.length} of 3 workers fetched blobs`);
  const metrics = await request(svc.url).get('/metrics').set('authorization', `Bearer ${API}`);
  assert.equal(metrics.status, 200);
  assert.match(metrics.text, /^onnxscope_queue_up 1$/m);
  assert.match(metrics.text, /^onnxscope_analyses_computed_total\{status="SUCCEEDED"\} 48$/m);
  assert.match(metrics.text, /^onnxscope_queue_jobs\{state="waiting"\} \d+$/m);
  assert.match(metrics.text, /^onnxscope_workers\{state="ready"\} 3$/m);
});

async function slowAnalysis(tag: string, ms: number): Promise<string> {
  const model = await svc.app.models.ingest(new Uint8Array(readFileSync(path.join(fixture.dir, 'models/mlp_w2_b4_s1.onnx'))), 'slow-target');
  const r = await gql(`mutation($input: RunAnalysisInput!) { runAnalysis(input: $input) { id status } }`, {
    input: { modelId: model.id, analyzer: 'test-slow', params: { ms, tag } },
  });
  assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
  return r.body.data!.runAnalysis.id as string;
}

test('kill -9 of a worker mid-job: the job completes on another worker, once', { timeout: 120_000 }, async () => {
  const id = await slowAnalysis('killed', 4000);
  const holder = await until('a worker running the job', async () => {
    const w = ((await gql(WORKERS)).body.data?.workers ?? []) as Array<Record<string, any>>;
    return w.find((x) => x.currentJobs.some((j: { analysisId: string }) => j.analysisId === id));
  });
  const victim = workers.find((w) => w.proc.pid === holder.pid)!;
  victim.proc.kill('SIGKILL');
  await victim.exited;
  const a = await svc.waitFor(id, 90_000, API);
  assert.equal(a.status, 'SUCCEEDED', JSON.stringify(a));
  const row = (await svc.app.store.analyses.byId(id))!;
  assert.equal(row.attempts, 2, 'started once on the killed worker, once more elsewhere');
  const result = (await svc.app.store.results.get(row.cacheKey))!.result as { tag: string; sleptMs: number };
  assert.equal(result.tag, 'killed');
  assert.ok(result.sleptMs >= 4000);
  const others = workers.filter((w) => w !== victim);
  const finishers = others.filter((w) => w.output().includes(id) && /job finished/.test(w.output().split('\n').filter((l) => l.includes(id)).join('\n')));
  assert.equal(finishers.length, 1, 'exactly one other worker finished it');
  const artifacts = await svc.app.store.results.artifacts(row.cacheKey);
  assert.deepEqual(artifacts.map((x) => x.name), ['tag.txt']);
  assert.equal(new TextDecoder().decode(await svc.app.store.blobs.get(artifacts[0]!.sha256)), 'killed');
  workers = [...others, spawnWorker()];
});

test('progress and cancellation flow through the queue: the server sees progress, cancelAnalysis stops the job on its worker', { timeout: 120_000 }, async () => {
  const id = await slowAnalysis('cancelled', 60_000);
  const progressed = await until('progress from the worker', async () => {
    const a = (await gql(`query($id: ID!) { analysis(id: $id) { status progress message } }`, { id })).body.data?.analysis;
    return a?.status === 'RUNNING' && a.progress > 0 && a.message === 'sleeping' ? a : undefined;
  });
  assert.ok(progressed.progress < 1);
  const holder = await until('a worker running the job', async () => {
    const w = ((await gql(WORKERS)).body.data?.workers ?? []) as Array<Record<string, any>>;
    return w.find((x) => x.currentJobs.some((j: { analysisId: string }) => j.analysisId === id));
  });
  const r = await gql(`mutation($id: ID!) { cancelAnalysis(id: $id) { status } }`, { id });
  assert.equal(r.body.data?.cancelAnalysis.status, 'CANCELLED', JSON.stringify(r.body));
  // The worker stops long before the job's 60 s are up, and reports nothing over the cancellation.
  await until('the worker to let go of the job', async () => {
    const w = ((await gql(WORKERS)).body.data?.workers ?? []) as Array<Record<string, any>>;
    const same = w.find((x) => x.id === holder.id);
    return same && same.currentJobs.length === 0;
  }, 20_000);
  const worker = workers.find((w) => w.proc.pid === holder.pid)!;
  assert.match(worker.output(), new RegExp(`"analysisId":"${id}".*"msg":"job cancelled"`));
  const row = (await svc.app.store.analyses.byId(id))!;
  assert.equal(row.status, 'CANCELLED');
  assert.equal(await svc.app.store.results.has(row.cacheKey), false);
});

test('Redis stopped: the server reports the queue down, still accepts work, and the work runs once Redis is back', { timeout: 120_000 }, async () => {
  await redis.stop();
  const down = await until('/readyz to report the queue down', async () => {
    const r = await request(svc.url).get('/readyz');
    return r.status === 503 && r.body.problems.some((p: string) => p.startsWith('queue: Redis')) ? r.body : undefined;
  });
  assert.ok(down.problems.length >= 1);
  const metrics = await request(svc.url).get('/metrics').set('authorization', `Bearer ${API}`);
  assert.match(metrics.text, /^onnxscope_queue_up 0$/m);
  const id = await slowAnalysis('outage', 200);
  assert.equal((await svc.app.store.analyses.byId(id))!.status, 'QUEUED');
  await sleep(1000);
  await redis.start();
  const a = await svc.waitFor(id, 90_000, API);
  assert.equal(a.status, 'SUCCEEDED', JSON.stringify(a));
  await until('/readyz ready again', async () => (await request(svc.url).get('/readyz')).status === 200);
});

test('without ONNXSCOPE_QUEUE the embedded queue is used and no Redis is configured', async () => {
  assert.equal(loadConfig({}, {}).queueUrl, null);
  const embedded = await startTestService({});
  try {
    assert.equal(embedded.app.remote, null);
    assert.equal(embedded.app.queue.constructor.name, 'SqliteJobQueue');
    assert.deepEqual((await embedded.gql(`{ workers { id } }`)).body.data, { workers: [] });
  } finally {
    await embedded.stop();
    rmSync(embedded.dataDir, { recursive: true, force: true });
  }
});
