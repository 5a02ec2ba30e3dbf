import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { WebSocket } from 'ws';
import { createClient } from 'graphql-ws';
import { loadConfig } from '../service/config.js';
import { MNIST_MODEL, removeDir, startTestService, type TestService } from './helpers/serviceHarness.js';

const UPLOAD_MODEL = `mutation($file: Upload!) { uploadModel(file: $file) { id } }`;
let svc: TestService;

before(async () => {
  svc = await startTestService({}, { ONNXSCOPE_TOKENS: 'writer-token:read,write;reader-token:read' });
});

after(async () => {
  await svc.stop();
  removeDir(svc.dataDir);
});

test('without tokens the server binds to loopback only; with tokens to all interfaces', () => {
  assert.equal(loadConfig({}, {}).host, '127.0.0.1');
  assert.equal(loadConfig({}, { ONNXSCOPE_HOST: '0.0.0.0' }).host, '127.0.0.1');
  assert.equal(loadConfig({}, { ONNXSCOPE_TOKENS: 't:read' }).host, '0.0.0.0');
});

test('tokens come from ONNXSCOPE_TOKENS and/or a tokens file', () => {
  const file = path.join(svc.dataDir, 'tokens.txt');
  writeFileSync(file, '# one token per line\nfile-token:read,write\nviewer:read\n');
  const tokens = loadConfig({}, { ONNXSCOPE_TOKENS_FILE: file, ONNXSCOPE_TOKENS: 'env-token:read' }).tokens!;
  assert.deepEqual([...tokens.keys()].sort(), ['env-token', 'file-token', 'viewer']);
  assert.deepEqual([...tokens.get('file-token')!].sort(), ['read', 'write']);
  assert.deepEqual([...tokens.get('viewer')!], ['read']);
  assert.throws(() => loadConfig({}, { ONNXSCOPE_TOKENS: 'x:admin' }), /scope "admin"/);
});

test('a missing or unknown token is UNAUTHENTICATED', async () => {
  for (const token of [undefined, 'wrong-token']) {
    const r = await svc.gql('{ models { id } }', {}, token);
    assert.equal(r.status, 401);
    assert.equal(r.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  }
});

test('health endpoints need no token', async () => {
  assert.equal((await request(svc.url).get('/healthz')).status, 200);
  const ready = await request(svc.url).get('/readyz');
  assert.ok([200, 503].includes(ready.status));
});

test('a read-only token may query but not mutate (FORBIDDEN), and nothing is stored', async () => {
  const q = await svc.gql('{ models { id } analyzers { name } }', {}, 'reader-token');
  assert.equal(q.body.errors, undefined);
  const before = await svc.footprint();
  const r = await svc.upload(UPLOAD_MODEL, {}, { bytes: readFileSync(MNIST_MODEL), filename: 'cnn.onnx' }, 'reader-token');
  assert.equal(r.body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  assert.deepEqual(await svc.footprint(), before);
  const run = await svc.gql(`mutation { runAnalysis(input: { modelId: "x", analyzer: "test-slow" }) { id } }`, {}, 'reader-token');
  assert.equal(run.body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
});

test('a read-write token may upload', async () => {
  const r = await svc.upload(UPLOAD_MODEL, {}, { bytes: readFileSync(MNIST_MODEL), filename: 'cnn.onnx' }, 'writer-token');
  assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
  assert.ok(r.body.data?.uploadModel.id);
});

/** The first answer to a subscription over graphql-ws: data, or the error that ended it. */
async function firstEvent(token: string | undefined, id: string): Promise<{ data?: unknown; error?: string }> {
  const client = createClient({
    url: svc.url.replace('http', 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
  });
  try {
    return await new Promise((resolve) => {
      client.subscribe(
        { query: `subscription($id: ID!) { analysisUpdated(id: $id) { id } }`, variables: { id } },
        {
          next: (r) => resolve(r.errors ? { error: String(r.errors[0]?.extensions?.code ?? r.errors[0]?.message) } : { data: r.data }),
          error: (err) => resolve({ error: err instanceof Error ? err.message : String((err as { code?: number }).code ?? err) }),
          complete: () => resolve({ error: 'completed' }),
        },
      );
    });
  } finally {
    await client.dispose();
  }
}

test('subscriptions need a valid token too', async () => {
  const refused = await firstEvent(undefined, 'nope');
  assert.equal(refused.data, undefined);
  assert.match(String(refused.error), /4403|Forbidden/i, JSON.stringify(refused));
  const allowed = await firstEvent('reader-token', 'no-such-analysis');
  assert.equal(allowed.error, 'NOT_FOUND', JSON.stringify(allowed));
});
