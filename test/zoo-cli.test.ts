/**
 * `onnxscope zoo` as users run it: add from a manifest (files relative to it), analyze with the
 * progress line, show sorted JSON, write a diagram; a second analyze is all cache hits.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeMlpZoo, type ZooFixture } from './helpers/mlpZoo.js';
import { cliSync } from './helpers/cli.js';

let dir: string;
let fixture: ZooFixture;

const cli = (args: string[]) => cliSync([...args, '--data-dir', path.join(dir, 'data')]);

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-zoo-cli-'));
  fixture = await writeMlpZoo(path.join(dir, 'zoo'), { widths: [2, 4], batchSizes: [4, 16], seeds: [1, 2], steps: 20 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('zoo add / analyze / show / diagram', () => {
  const added = cli(['zoo', 'add', '--manifest', fixture.manifest, '--json']);
  assert.equal(added.code, 0, added.stderr);
  const zoo = JSON.parse(added.stdout).zoo;
  assert.equal(zoo.models, 8);
  const args = ['zoo', 'analyze', zoo.id, '--data', fixture.train, '--test-data', fixture.test, '--analyzers', 'evaluate,hessian',
    '--param', 'hessian.maxIter=15', '--param', 'hessian.maxProbes=20', '--concurrency', '3'];
  const first = cli(args);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /\] 24 of 24/);
  assert.match(first.stdout, /24 of 24 done \(0 cached, 0 failed\)/);
  const second = cli([...args, '--json']);
  assert.equal(second.code, 0, second.stderr);
  const answer = JSON.parse(second.stdout);
  assert.equal(answer.progress.cached, 24, 'a new run over the same models: every analysis from the cache');
  const shown = cli(['zoo', 'show', 'mlp-zoo', '--sort', 'hessianTop', '--desc', '--json']);
  assert.equal(shown.code, 0, shown.stderr);
  const models = JSON.parse(shown.stdout).models as Array<{ metrics: { hessianTop: number; testLoss: number } }>;
  assert.equal(models.length, 8);
  for (let i = 1; i < 8; i++) assert.ok(models[i - 1]!.metrics.hessianTop >= models[i]!.metrics.hessianTop);
  assert.ok(models.every((m) => typeof m.metrics.testLoss === 'number'));
  const svg = path.join(dir, 'loss.svg');
  const d = cli(['zoo', 'diagram', zoo.id, '--metric', 'trainLoss', '--out', svg]);
  assert.equal(d.code, 0, d.stderr);
  assert.match(readFileSync(svg, 'utf8'), /^<svg[\s\S]*centre 0\.1/);
  const bad = cli(['zoo', 'analyze', zoo.id, '--data', fixture.train, '--param', 'hessian.nope=1']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /BAD_PARAMS/);
});
