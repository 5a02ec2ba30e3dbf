/**
 * A real onnxscope service for tests: temp data dir, real SQLite, real worker processes, real
 * HTTP on an ephemeral loopback port, driven with supertest.
 */
import { mkdtempSync, readdirSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import request from 'supertest';
import { loadConfig, type Config } from '../../service/config.js';
import { createLogger } from '../../service/logger.js';
import { createApp, type App } from '../../service/app.js';
import { createHttpServer, type HttpServer } from '../../service/http/server.js';
import { buildGraphQLSchema } from '../../resolvers/index.js';
import { testData } from './test-data.js';

export const SLOW_ANALYZER = fileURLToPath(new URL('./serviceSlowAnalyzer.js', import.meta.url));
export const MNIST_MODEL = testData('onnxruntime/cnn_mnist_pytorch.onnx');
export const MNIST_CSV = testData('eran/mnist_test.csv');

export interface TestService {
  app: App;
  http: HttpServer;
  url: string;
  dataDir: string;
  /** POST a GraphQL operation as JSON. */
  gql(query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResponse>;
  /** A GraphQL multipart request with one file bound to variables.file. */
  upload(query: string, variables: Record<string, unknown>, file: { bytes: Uint8Array; filename: string }, token?: string): Promise<GqlResponse>;
  /** Polls analysis(id) until it reaches a terminal status. */
  waitFor(id: string, timeoutMs?: number, token?: string): Promise<Record<string, any>>;
  /** Rows per table and blob count: what "nothing left behind" is checked against. */
  footprint(): Promise<{ models: number; datasets: number; analyses: number; results: number; blobs: number; tmp: number }>;
  stop(): Promise<void>;
}

export interface GqlResponse {
  status: number;
  body: { data?: Record<string, any> | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };
}

export async function startTestService(overrides: Partial<Config> = {}, env: Record<string, string> = {}): Promise<TestService> {
  const dataDir = overrides.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'onnxscope-svc-'));
  const config = loadConfig(
    { workers: 1, analyzerModules: [SLOW_ANALYZER], logLevel: 'warn', progressIntervalMs: 50, shutdownGraceMs: 0, ...overrides, dataDir },
    env,
  );
  const app = await createApp(config, createLogger(config.logLevel, 2));
  const http = await createHttpServer(app, await buildGraphQLSchema(app.events));
  const address = await http.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${address.port}`;
  const auth = (token?: string) => (token ? { authorization: `Bearer ${token}` } : {});

  const svc: TestService = {
    app,
    http,
    url,
    dataDir,
    async gql(query, variables = {}, token) {
      const res = await request(url).post('/graphql').set(auth(token)).send({ query, variables });
      return { status: res.status, body: res.body };
    },
    async upload(query, variables, file, token) {
      const res = await request(url)
        .post('/graphql')
        .set({ ...auth(token), 'apollo-require-preflight': 'true' })
        .field('operations', JSON.stringify({ query, variables: { ...variables, file: null } }))
        .field('map', JSON.stringify({ 0: ['variables.file'] }))
        .attach('0', Buffer.from(file.bytes), file.filename);
      return { status: res.status, body: res.body };
    },
    async waitFor(id, timeoutMs = 60_000, token) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await svc.gql(`query($id: ID!) { analysis(id: $id) { id status progress cached error { code message } } }`, { id }, token);
        const a = r.body.data?.analysis;
        if (a && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(a.status)) return a;
        if (Date.now() > deadline) throw new Error(`analysis ${id} still ${a?.status} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async footprint() {
      const count = async (table: string) => (await app.store.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))!.n;
      const tmpDir = path.join(dataDir, 'blobs', 'tmp');
      return {
        models: await count('models'),
        datasets: await count('datasets'),
        analyses: await count('analyses'),
        results: await count('results'),
        blobs: (await app.store.blobs.list()).length,
        tmp: existsSync(tmpDir) ? readdirSync(tmpDir).length : 0,
      };
    },
    async stop() {
      await http.close();
      await app.close(0);
    },
  };
  return svc;
}

export const removeDir = (dir: string) => rmSync(dir, { recursive: true, force: true });

/**
 * One service for a whole test file: started in before(), stopped and its data dir removed in
 * after(). Read it as `suite.svc` inside tests (it exists once before() has run).
 */
export function serviceForSuite(overrides: Partial<Config> = {}): { readonly svc: TestService } {
  let started: TestService | undefined;
  before(async () => {
    started = await startTestService(overrides);
  });
  after(async () => {
    if (!started) return;
    await started.stop();
    removeDir(started.dataDir);
  });
  return {
    get svc(): TestService {
      if (!started) throw new Error('serviceForSuite: the service is read before before() ran');
      return started;
    },
  };
}
