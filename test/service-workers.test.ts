/**
 * Jobs in real worker processes: progress and subscriptions, a worker killed mid-job, retries,
 * cancellation, time budgets, graceful shutdown and restart with jobs left RUNNING.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import request from 'supertest';
import { createClient } from 'graphql-ws';
import { openStore } from '../storage/store.js';
import { ModelService } from '../service/modelService.js';
import { MNIST_MODEL, removeDir, startTestService, type TestService } from './helpers/serviceHarness.js';

const UPLOAD_MODEL = `mutation($file: Upload!) { uploadModel(file: $file) { id } }`;
const RUN = `mutation($input: RunAnalysisInput!) { runAnalysis(input: $input) { id status cached } }`;

async function uploadModel(svc: TestService): Promise<string> {
  const r = await svc.upload(UPLOAD_MODEL, {}, { bytes: readFileSync(MNIST_MODEL), filename: 'cnn.onnx' });
  assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
  return r.body.data!.uploadModel.id;
}

async function runSlow(svc: TestService, modelId: string, params: Record<string, unknown>): Promise<string> {
  const r = await svc.gql(RUN, { input: { modelId, analyzer: 'test-slow', params } });
  assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
  return r.body.data!.runAnalysis.id;
}

async function waitForRunning(svc: TestService, id: string): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const pid = svc.app.pool.pidOf(id);
    const row = await svc.app.store.analyses.byId(id);
    if (pid && row?.status === 'RUNNING' && row.progress > 0) return pid;
    if (Date.now() > deadline) throw new Error(`analysis ${id} never started`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('one attempt per job', () => {
  let svc: TestService;
  let modelId: string;
  // The shutdown test takes the service apart itself; until then after() owns closing it.
  let tornDown = false;

  before(async () => {
    svc = await startTestService({ jobAttempts: 1, jobTimeoutMs: 60_000 });
    modelId = await uploadModel(svc);
  });
  after(async () => {
    if (!tornDown) await svc?.stop();
  });

  test('workers run niced (ONNXSCOPE_WORKER_NICE, default 10), so the API process keeps the CPU it needs', async () => {
    const id = await runSlow(svc, modelId, { ms: 1500, tag: 'niced' });
    const pid = await waitForRunning(svc, id);
    // /proc/<pid>/stat: the niceness is field 19; fields after the parenthesised command name start at field 3.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    assert.equal(Number(fields[19 - 3]), Math.max(10, os.getPriority()));
    assert.notEqual(pid, process.pid);
    assert.equal((await svc.waitFor(id, 60_000)).status, 'SUCCEEDED');
  });

  test('a subscription follows an analysis to SUCCEEDED', async () => {
    const id = await runSlow(svc, modelId, { ms: 400, tag: 'subscribed' });
    const client = createClient({ url: svc.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, retryAttempts: 0 });
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      client.subscribe<{ analysisUpdated: { status: string; progress: number } }>(
        { query: `subscription($id: ID!) { analysisUpdated(id: $id) { status progress } }`, variables: { id } },
        {
          next: ({ data, errors }) => {
            if (errors) return reject(new Error(JSON.stringify(errors)));
            seen.push(data!.analysisUpdated.status);
            if (data!.analysisUpdated.status === 'SUCCEEDED') resolve();
          },
          error: reject,
          complete: () => resolve(),
        },
      );
    });
    await client.dispose();
    assert.equal(seen.at(-1), 'SUCCEEDED');
    assert.ok(seen.length >= 2, `saw ${seen.join(', ')}`);
  });

  test('artifacts are stored with the result and served by URL, also for cached answers', async () => {
    const query = `query($id: ID!) { analysis(id: $id) { status cached artifacts { name mimeType sizeBytes url } } }`;
    const first = await runSlow(svc, modelId, { ms: 10, tag: 'an artifact' });
    await svc.waitFor(first);
    const again = await runSlow(svc, modelId, { ms: 10, tag: 'an artifact' });
    for (const id of [first, again]) {
      const a = (await svc.gql(query, { id })).body.data!.analysis;
      assert.equal(a.status, 'SUCCEEDED');
      assert.deepEqual(a.artifacts.map((x: { name: string; sizeBytes: number }) => [x.name, x.sizeBytes]), [['tag.txt', 11]]);
      const res = await request(svc.url).get(a.artifacts[0].url);
      assert.equal(res.status, 200);
      assert.match(res.headers['content-type'] ?? '', /^text\/plain/);
      assert.equal(res.text, 'an artifact');
    }
    assert.equal((await request(svc.url).get(`/artifacts/${first}/nope.png`)).status, 404);
  });

  test('an analyzer can load another stored model by id or sha256', async () => {
    const sha = (await svc.app.models.get(modelId)).sha256;
    for (const ref of [modelId, sha]) {
      const id = await runSlow(svc, modelId, { ms: 1, otherModel: ref });
      assert.equal((await svc.waitFor(id)).status, 'SUCCEEDED');
      const r = await svc.gql(`query($id: ID!) { analysis(id: $id) { resultJson } }`, { id });
      assert.equal(r.body.data?.analysis.resultJson.otherSha256, sha);
    }
    const missing = await svc.waitFor(await runSlow(svc, modelId, { ms: 1, otherModel: 'no-such-model' }));
    assert.equal(missing.status, 'FAILED');
    assert.equal(missing.error.code, 'NOT_FOUND');
  });

  test('a worker killed mid-job fails only that job; finished results stay; the service carries on', async () => {
    const doneId = await runSlow(svc, modelId, { ms: 10, tag: 'finished-before' });
    assert.equal((await svc.waitFor(doneId)).status, 'SUCCEEDED');

    const id = await runSlow(svc, modelId, { ms: 60_000, tag: 'victim' });
    const pid = await waitForRunning(svc, id);
    process.kill(pid, 'SIGKILL');
    const ended = await svc.waitFor(id);
    assert.equal(ended.status, 'FAILED');
    assert.equal(ended.error.code, 'INTERNAL');
    assert.match(ended.error.message, /worker process died/);

    const kept = await svc.gql(`query($id: ID!) { analysis(id: $id) { status resultJson } }`, { id: doneId });
    assert.equal(kept.body.data?.analysis.status, 'SUCCEEDED');
    assert.equal(kept.body.data?.analysis.resultJson.tag, 'finished-before');

    // The pool replaced the worker: the next job runs.
    const next = await runSlow(svc, modelId, { ms: 10, tag: 'after-the-crash' });
    assert.equal((await svc.waitFor(next)).status, 'SUCCEEDED');
  });

  test('cancelAnalysis stops a running job', async () => {
    const id = await runSlow(svc, modelId, { ms: 60_000, tag: 'cancel-me' });
    await waitForRunning(svc, id);
    const r = await svc.gql(`mutation($id: ID!) { cancelAnalysis(id: $id) { status error { code } } }`, { id });
    assert.equal(r.body.data?.cancelAnalysis.status, 'CANCELLED');
    assert.equal(r.body.data?.cancelAnalysis.error.code, 'CANCELLED');
    const next = await runSlow(svc, modelId, { ms: 10, tag: 'after-cancel' });
    assert.equal((await svc.waitFor(next)).status, 'SUCCEEDED');
  });

  test('identical requests in flight share one job', async () => {
    const a = await runSlow(svc, modelId, { ms: 300, tag: 'shared' });
    const b = await runSlow(svc, modelId, { ms: 300, tag: 'shared' });
    assert.equal(a, b);
    // Also when they arrive at the same moment.
    const together = await Promise.all([1, 2, 3].map(() => runSlow(svc, modelId, { ms: 300, tag: 'together' })));
    assert.equal(new Set(together).size, 1);
    await svc.waitFor(a);
  });

  test('on shutdown a running job goes back to the queue', async () => {
    const id = await runSlow(svc, modelId, { ms: 60_000, tag: 'interrupted' });
    await waitForRunning(svc, id);
    const dataDir = svc.dataDir;
    tornDown = true;
    await svc.http.close();
    await svc.app.pool.stop(0);
    const row = await svc.app.store.analyses.byId(id);
    assert.equal(row?.status, 'QUEUED');
    await svc.app.store.close();
    removeDir(dataDir);
  });
});

describe('retries and time budgets', () => {
  let svc: TestService;
  let modelId: string;
  let tornDown = false;

  before(async () => {
    svc = await startTestService({ jobAttempts: 2, jobTimeoutMs: 2_500 });
    modelId = await uploadModel(svc);
  });
  after(async () => {
    if (!tornDown) await svc?.stop();
  });

  test('a job whose worker dies is retried once', async () => {
    const id = await runSlow(svc, modelId, { ms: 1_000, tag: 'retry' });
    const pid = await waitForRunning(svc, id);
    process.kill(pid, 'SIGKILL');
    const ended = await svc.waitFor(id);
    assert.equal(ended.status, 'SUCCEEDED');
    assert.equal((await svc.app.store.analyses.byId(id))?.attempts, 2);
  });

  test('a job over its time budget fails with TIMEOUT', async () => {
    const id = await runSlow(svc, modelId, { ms: 60_000, tag: 'too-slow' });
    const ended = await svc.waitFor(id);
    assert.equal(ended.status, 'FAILED');
    assert.equal(ended.error.code, 'TIMEOUT');
  });

  test('on shutdown a running job that finishes within the grace period is kept', async () => {
    const id = await runSlow(svc, modelId, { ms: 800, tag: 'graceful' });
    await waitForRunning(svc, id);
    tornDown = true;
    await svc.http.close();
    await svc.app.close(20_000);
    const store = await openStore(svc.dataDir);
    assert.equal((await store.analyses.byId(id))?.status, 'SUCCEEDED');
    await store.close();
    removeDir(svc.dataDir);
  });
});

test('at start-up, jobs left RUNNING by a dead process are re-queued and run', async () => {
  // A data dir as a killed server leaves it: one job RUNNING, nobody working on it.
  const seeded = await startTestService({ workers: 1 });
  const dataDir = seeded.dataDir;
  await seeded.stop();
  const store = await openStore(dataDir);
  const model = await new ModelService(store, 1 << 30).ingest(readFileSync(MNIST_MODEL), 'mnist');
  const id = randomUUID();
  await store.analyses.insertQueued({
    id, modelId: model.id, datasetId: null, analyzer: 'test-slow', analyzerVersion: 1, paramsJson: '{"ms":10,"tag":"orphan"}', cacheKey: `orphan-${id}`,
  });
  await store.analyses.claimNext();
  assert.equal((await store.analyses.byId(id))?.status, 'RUNNING');
  await store.close();

  const svc = await startTestService({ dataDir });
  try {
    const ended = await svc.waitFor(id);
    assert.equal(ended.status, 'SUCCEEDED');
  } finally {
    await svc.stop();
    removeDir(dataDir);
  }
});
