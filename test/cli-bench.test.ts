/** `onnxscope bench`: the contract of DESIGN.md (one JSON object; exit 2 on bad input). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MNIST_CSV, MNIST_MODEL } from './helpers/serviceHarness.js';
import { cliSync } from './helpers/cli.js';

const run = (args: string[]) => cliSync(['bench', ...args]);

test('bench --json times forward, gradient and HVP of one batch', () => {
  const r = run(['--model', MNIST_MODEL, '--data', MNIST_CSV, '--batch', '16', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const answer = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(answer).sort(), ['batch', 'forwardMs', 'gradientMs', 'hvpMs']);
  assert.equal(answer.batch, 16);
  for (const k of ['forwardMs', 'gradientMs', 'hvpMs']) assert.ok(answer[k] > 0 && Number.isFinite(answer[k]), k);
});

test('bench with a bad batch size exits 2 with one line naming it', () => {
  const r = run(['--model', MNIST_MODEL, '--data', MNIST_CSV, '--batch', '0', '--json']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr.trim(), /^onnxscope: BAD_PARAMS: --batch/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});
