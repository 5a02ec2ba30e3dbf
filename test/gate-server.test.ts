/**
 * `onnxscope gate --server`: the same gate against a running server (real HTTP, real worker
 * processes, bearer token), so CI machines share the server's results cache.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { SLOW_ANALYZER, removeDir, startTestService, type TestService } from './helpers/serviceHarness.js';
import { runCli } from './helpers/cli.js';
import { FLIPPED, SAMPLES, writeGateFixtures } from './helpers/gate-fixtures.js';

const fx = writeGateFixtures();
let svc: TestService;

before(async () => {
  svc = await startTestService({ workers: 2 }, { ONNXSCOPE_TOKENS: 'ci-token:read,write;viewer:read' });
});

after(async () => {
  await svc.stop();
  removeDir(svc.dataDir);
  rmSync(fx.dir, { recursive: true, force: true });
});

const CONFIG = `
model: good.onnx
data: data.npz
baseline: permuted.onnx
analyses:
  hessian:
    params: { topK: 1 }
rules:
  - evaluate.accuracy >= baseline
  - evaluate.accuracy == ${(SAMPLES - FLIPPED) / SAMPLES}
  - hessian.topEigenvalues[0] <= 50
`;

const jobs = async () => (await svc.app.store.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM analyses WHERE cached = 0'))!.n;

test('the gate runs on the server with its token; the second run is served from the server cache', async () => {
  const file = path.join(fx.dir, 'gate.yml');
  writeFileSync(file, CONFIG);
  const args = ['gate', '--config', file, '--server', svc.url, '--json'];

  const first = await runCli(args, { ONNXSCOPE_TOKEN: 'ci-token' });
  assert.equal(first.code, 0, first.stderr);
  const report = JSON.parse(first.stdout);
  assert.equal(report.where, `${svc.url}/graphql`);
  assert.deepEqual(report.counts, { rules: 3, passed: 3, failed: 0, errors: 0, warnings: 0, analyses: 3, cached: 0 });
  assert.equal(report.rules[1].observed, (SAMPLES - FLIPPED) / SAMPLES);
  const afterFirst = await jobs();
  assert.equal(afterFirst, 3, 'one job per analysis: evaluate on both models, hessian on the candidate');

  const second = await runCli([...args, '--token', 'ci-token']);
  assert.equal(second.code, 0, second.stderr);
  const again = JSON.parse(second.stdout);
  assert.equal(again.counts.cached, 3);
  assert.deepEqual(again.rules.map((r: { observed: unknown }) => r.observed), report.rules.map((r: { observed: unknown }) => r.observed));
  assert.equal(await jobs(), afterFirst, 'no analysis job ran the second time');
});

test('a missing, unknown or read-only token is bad input (exit 2) and queues nothing', async () => {
  const file = path.join(fx.dir, 'gate.yml');
  writeFileSync(file, CONFIG);
  const before = await jobs();
  for (const [token, code] of [[undefined, 'UNAUTHENTICATED'], ['wrong', 'UNAUTHENTICATED'], ['viewer', 'FORBIDDEN']] as const) {
    const run = await runCli(['gate', '--config', file, '--server', svc.url, ...(token ? ['--token', token] : [])], { ONNXSCOPE_TOKEN: '' });
    assert.equal(run.code, 2, `${token}: ${run.stderr}`);
    assert.match(run.stderr, new RegExp(`^onnxscope: ${code}: server: `, 'm'));
  }
  assert.equal(await jobs(), before);

  // A port that was free a moment ago: nothing listens there.
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const unreachable = await runCli(['gate', '--config', file, '--server', `http://127.0.0.1:${port}`, '--token', 'ci-token']);
  assert.equal(unreachable.code, 2);
  assert.match(unreachable.stderr, new RegExp(`--server http://127.0.0.1:${port}: cannot reach it \\(ECONNREFUSED\\)`));
});

test('--timeout stops the gate and cancels its jobs on the server', async () => {
  const file = path.join(fx.dir, 'slow.yml');
  writeFileSync(file, 'model: good.onnx\nanalyses:\n  slow:\n    analyzer: test-slow\n    params: { ms: 60000, tag: gate-timeout }\nrules:\n  - slow.sleptMs >= 0\n');
  const started = Date.now();
  const run = await runCli(['gate', '--config', file, '--server', svc.url, '--token', 'ci-token', '--timeout', '2'], { ONNXSCOPE_ANALYZER_MODULES: SLOW_ANALYZER });
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /^onnxscope: TIMEOUT: the gate exceeded --timeout 2 s$/m);
  assert.ok(Date.now() - started < 30_000, 'the gate did not wait for the job');
  const row = await svc.app.store.db.get<{ id: string }>("SELECT id FROM analyses WHERE params_json LIKE '%gate-timeout%'");
  const final = await svc.waitFor(row!.id, 30_000, 'ci-token');
  assert.equal(final.status, 'CANCELLED', 'the job does not go on using the server');
});

test('with --server the config is checked against the analyzers the server runs', async () => {
  // test-slow is loaded by the server only: this command knows it from the server's catalog.
  const file = path.join(fx.dir, 'server-only.yml');
  writeFileSync(file, 'model: good.onnx\nanalyses:\n  slow:\n    analyzer: test-slow\n    params: { ms: 10, tag: server-only }\nrules:\n  - slow.tag == server-only\n');
  const run = await runCli(['gate', '--config', file, '--server', svc.url, '--token', 'ci-token', '--json'], { ONNXSCOPE_ANALYZER_MODULES: '' });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(JSON.parse(run.stdout).rules[0].observed, 'server-only');
  const embedded = await runCli(['gate', '--config', file, '--data-dir', path.join(fx.dir, 'local')], { ONNXSCOPE_ANALYZER_MODULES: '' });
  assert.equal(embedded.code, 2, 'this process alone does not know test-slow');
  assert.match(embedded.stderr, /unknown analyzer "test-slow"/);
  // The server's params are checked before anything runs, too.
  writeFileSync(file, 'model: good.onnx\nanalyses:\n  slow:\n    analyzer: test-slow\n    params: { ms: -5 }\nrules:\n  - slow.tag == x\n');
  const bad = await runCli(['gate', '--config', file, '--server', svc.url, '--token', 'ci-token'], { ONNXSCOPE_ANALYZER_MODULES: '' });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /BAD_CONFIG: .*server-only\.yml:5: analyses\.slow: .*ms/);
});
