/**
 * The `onnxscope` command as users run it: a real process, real files, the shared SQLite cache.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeNpz } from '../datasets/npz.js';
import { CLI, cliEnv, cliSync } from './helpers/cli.js';
import { MNIST_CSV, MNIST_MODEL, SLOW_ANALYZER, removeDir, startTestService } from './helpers/serviceHarness.js';


const cli = cliSync;

const lastLine = (s: string) => s.trim().split('\n').at(-1) ?? '';

test('analyze --json prints exactly one JSON object, and the second run is cached', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-cli-'));
  try {
    const args = ['analyze', 'evaluate', '--model', MNIST_MODEL, '--data', MNIST_CSV, '--param', 'batchSize=8', '--json', '--data-dir', dir];
    const first = cli([...args, '--out', path.join(dir, 'out')]);
    assert.equal(first.code, 0, first.stderr);
    const answer = JSON.parse(first.stdout);
    assert.deepEqual(Object.keys(answer).sort(), ['analyzer', 'cached', 'durationMs', 'result', 'version']);
    assert.equal(answer.analyzer, 'evaluate');
    assert.equal(answer.cached, false);
    assert.equal(answer.result.count, 100);
    assert.equal(answer.result.batchSize, 8, '--param is typed and passed on');
    assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'out', 'result.json'), 'utf8')), answer);

    const second = cli(args);
    assert.equal(second.code, 0, second.stderr);
    const cached = JSON.parse(second.stdout);
    assert.equal(cached.cached, true);
    assert.deepEqual(cached.result, answer.result);
  } finally {
    removeDir(dir);
  }
});

test('--out writes result.json and the artifacts, also for a cached answer', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-cli-'));
  try {
    const env = { ONNXSCOPE_ANALYZER_MODULES: SLOW_ANALYZER };
    for (const out of ['first', 'second']) {
      const r = cli(['analyze', 'test-slow', '--model', MNIST_MODEL, '--param', 'ms=1', '--param', 'tag=hello', '--json', '--out', path.join(dir, out), '--data-dir', dir], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).cached, out === 'second');
      assert.equal(readFileSync(path.join(dir, out, 'tag.txt'), 'utf8'), 'hello');
      assert.equal(JSON.parse(readFileSync(path.join(dir, out, 'result.json'), 'utf8')).result.tag, 'hello');
    }
  } finally {
    removeDir(dir);
  }
});

test('the CLI and the service share one cache', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-cli-'));
  const x = new Float32Array(4 * 784).fill(0.5);
  const npzFile = path.join(dir, 'four.npz');
  writeFileSync(npzFile, writeNpz({ x: { dtype: 'f4', shape: [4, 1, 28, 28], data: x }, y: { dtype: 'i8', shape: [4], data: new BigInt64Array([1n, 2n, 3n, 4n]) } }));
  const r = cli(['analyze', 'evaluate', '--model', MNIST_MODEL, '--data', npzFile, '--json', '--data-dir', dir]);
  assert.equal(r.code, 0, r.stderr);

  const svc = await startTestService({ dataDir: dir });
  try {
    const ids = await svc.gql('{ models { id } datasets { id } }');
    const run = await svc.gql(`mutation($input: RunAnalysisInput!) { runAnalysis(input: $input) { cached status resultJson } }`, {
      input: { modelId: ids.body.data!.models[0].id, datasetId: ids.body.data!.datasets[0].id, analyzer: 'evaluate' },
    });
    assert.equal(run.body.data?.runAnalysis.cached, true);
    assert.deepEqual(run.body.data?.runAnalysis.resultJson, JSON.parse(r.stdout).result);
  } finally {
    await svc.stop();
    removeDir(dir);
  }
});

test('bad input exits 2 with one line on stderr naming the problem', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-cli-'));
  const truncated = path.join(dir, 'cut.onnx');
  writeFileSync(truncated, readFileSync(MNIST_MODEL).subarray(0, 1000));
  try {
    const cases: Array<[string[], RegExp]> = [
      [['analyze', 'no-such', '--model', MNIST_MODEL], /^onnxscope: NOT_FOUND: unknown analyzer "no-such"/],
      [['analyze', 'evaluate', '--model', path.join(dir, 'missing.onnx')], /^onnxscope: BAD_PARAMS: --model .*missing\.onnx: no such file/],
      [['analyze', 'evaluate', '--model', truncated, '--data', MNIST_CSV], /^onnxscope: BAD_MODEL: /],
      [['analyze', 'evaluate', '--model', MNIST_MODEL, '--data', MNIST_CSV, '--param', 'batchSize=lots'], /^onnxscope: BAD_PARAMS: param batchSize/],
      [['analyze', 'evaluate', '--model', MNIST_MODEL, '--data', MNIST_CSV, '--param', 'nonsense=1'], /^onnxscope: BAD_PARAMS: unknown param nonsense/],
      [['analyze', 'evaluate', '--model', MNIST_MODEL], /^onnxscope: BAD_DATASET: analyzer evaluate needs a dataset/],
    ];
    for (const [args, expected] of cases) {
      const r = cli([...args, '--json', '--data-dir', dir]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '', 'nothing on stdout');
      assert.match(lastLine(r.stderr), expected);
    }
    const usage = cli(['analyze', 'evaluate']);
    assert.equal(usage.code, 2);
  } finally {
    removeDir(dir);
  }
});

test('serve listens (loopback without tokens), answers /healthz and stops cleanly on SIGTERM', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-cli-'));
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', dir], {
    env: cliEnv({ ONNXSCOPE_LOG_LEVEL: 'info', ONNXSCOPE_WORKERS: '1', ONNXSCOPE_TOKENS: '' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const logs: Array<Record<string, unknown>> = [];
    const url = await new Promise<string>((resolve, reject) => {
      let buffer = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
          const line = JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>;
          buffer = buffer.slice(nl + 1);
          logs.push(line);
          if (line.msg === 'onnxscope listening') resolve(String(line.url));
        }
      });
      child.once('exit', (code) => reject(new Error(`serve exited early with ${code}`)));
      setTimeout(() => reject(new Error('serve did not start')), 30_000);
    });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/graphql$/);
    assert.ok(logs.some((l) => /loopback only/.test(String(l.msg))), 'says it binds to loopback only');
    const health = await fetch(url.replace('/graphql', '/healthz'));
    assert.equal(health.status, 200);
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exit, 0);
    assert.ok(existsSync(path.join(dir, 'onnxscope.sqlite')));
  } finally {
    child.kill('SIGKILL');
    removeDir(dir);
  }
});
