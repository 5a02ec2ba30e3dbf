/** analyzers/params.ts (validation, canonical JSON), the registry, and evaluate's float64 helpers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateParams } from '../analyzers/params.js';
import { canonicalJson } from '../common/canonicalJson.js';
import type { ParamSpec } from '../analyzers/types.js';
import { AppError } from '../common/errors.js';
import { logSumExp, sampleLoss, softplus } from '../analyzers/evaluate/metrics.js';

const SPECS: ParamSpec[] = [
  { name: 'batchSize', type: 'int', description: '', default: 64, min: 1, max: 4096 },
  { name: 'rate', type: 'float', description: '', min: 0, max: 1 },
  { name: 'loss', type: 'enum', description: '', default: 'auto', choices: ['auto', 'mse'] },
  { name: 'verbose', type: 'bool', description: '', default: false },
  { name: 'layers', type: 'stringList', description: '' },
  { name: 'sizes', type: 'intList', description: '', default: [1, 2], min: 1 },
  { name: 'label', type: 'string', description: '' },
  { name: 'eps', type: 'floatList', description: '', max: 1 },
];

const badParam = (name: string, re?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof AppError, String(e));
  assert.equal(e.code, 'BAD_PARAMS');
  assert.ok(e.message.includes(name), `"${e.message}" names ${name}`);
  if (re) assert.match(e.message, re);
  return true;
};

test('defaults are filled, optional params without default stay absent', () => {
  assert.deepEqual(validateParams(SPECS, {}), { batchSize: 64, loss: 'auto', verbose: false, sizes: [1, 2] });
  assert.deepEqual(validateParams(SPECS, null), validateParams(SPECS, undefined));
  assert.deepEqual(validateParams(SPECS, { rate: null }), validateParams(SPECS, {}), 'null means default');
  const v = validateParams(SPECS, { batchSize: 8, rate: 0.5, loss: 'mse', verbose: true, layers: ['a', 'b'], sizes: [3], label: 'x' });
  assert.deepEqual(v, { batchSize: 8, rate: 0.5, loss: 'mse', verbose: true, layers: ['a', 'b'], sizes: [3], label: 'x' });
});

test('CLI strings are converted, so they give the same canonical params as JSON', () => {
  const fromCli = validateParams(SPECS, { batchSize: '8', rate: '0.25', verbose: 'true', layers: 'a,b', sizes: '3, 4' });
  const fromJson = validateParams(SPECS, { sizes: [3, 4], layers: ['a', 'b'], verbose: true, rate: 0.25, batchSize: 8 });
  assert.equal(canonicalJson(fromCli), canonicalJson(fromJson));
});

test('type, range, choice and unknown-key errors name the param', () => {
  assert.throws(() => validateParams(SPECS, { batchSize: 0 }), badParam('batchSize', />= 1/));
  assert.throws(() => validateParams(SPECS, { batchSize: 4097 }), badParam('batchSize', /<= 4096/));
  assert.throws(() => validateParams(SPECS, { batchSize: 2.5 }), badParam('batchSize', /integer/));
  assert.throws(() => validateParams(SPECS, { batchSize: 'many' }), badParam('batchSize', /number/));
  assert.throws(() => validateParams(SPECS, { rate: 1.5 }), badParam('rate'));
  assert.throws(() => validateParams(SPECS, { rate: Number.NaN }), badParam('rate'));
  assert.throws(() => validateParams(SPECS, { loss: 'hinge' }), badParam('loss', /one of auto, mse/));
  assert.throws(() => validateParams(SPECS, { verbose: 1 }), badParam('verbose'));
  assert.throws(() => validateParams(SPECS, { layers: ['a', 3] }), badParam('layers[1]'));
  assert.throws(() => validateParams(SPECS, { sizes: [2, 0] }), badParam('sizes[1]', />= 1/));
  assert.throws(() => validateParams(SPECS, { label: 5 }), badParam('label'));
  assert.deepEqual(validateParams(SPECS, { eps: '0.01, 0.5' }).eps, [0.01, 0.5]);
  assert.throws(() => validateParams(SPECS, { eps: [0.5, 2] }), badParam('eps[1]', /<= 1/));
  assert.throws(() => validateParams(SPECS, { batchsize: 8 }), badParam('batchsize', /unknown param batchsize; known: batchSize, rate/));
  assert.throws(() => validateParams(SPECS, [1, 2]), (e: unknown) => e instanceof AppError && e.code === 'BAD_PARAMS');
  assert.throws(() => validateParams(SPECS, 'x'), (e: unknown) => e instanceof AppError && e.code === 'BAD_PARAMS');
});

test('canonicalJson sorts keys at every depth and drops undefined', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } }), '{"a":{"d":[3,{"y":2,"z":1}]},"b":1}');
  assert.equal(canonicalJson({ x: -0 }), '{"x":0}');
  assert.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }));
  assert.throws(() => canonicalJson({ x: Infinity }), (e: unknown) => e instanceof AppError && e.code === 'BAD_PARAMS');
});

test('registry: evaluate is listed; unknown names are BAD_PARAMS listing the known ones', async () => {
  const { getAnalyzer, listAnalyzers } = await import('../analyzers/registry.js');
  const names = listAnalyzers().map((a) => a.name);
  assert.ok(names.includes('evaluate'));
  assert.deepEqual(names, [...names].sort());
  const ev = getAnalyzer('evaluate');
  assert.equal(ev.version, 1);
  assert.equal(ev.needsDataset, true);
  assert.deepEqual(validateParams(ev.params, {}), { batchSize: 64, loss: 'auto' });
  assert.throws(() => getAnalyzer('nope'), (e: unknown) => {
    assert.ok(e instanceof AppError && e.code === 'BAD_PARAMS');
    assert.equal(e.message, `unknown analyzer nope; known: ${names.join(', ')}`);
    return true;
  });
});

test('evaluate float64 helpers: stable log-sum-exp, softplus, clamped probabilities', () => {
  assert.equal(logSumExp([1000, 1000], 0, 2), 1000 + Math.log(2));
  assert.ok(Math.abs(logSumExp([-1000, 0], 0, 2)) < 1e-300);
  assert.equal(softplus(800), 800);
  assert.ok(Math.abs(softplus(-800)) < 1e-300);
  assert.equal(softplus(0), Math.log(2));
  assert.equal(sampleLoss('cross-entropy', [0, 0, 0, 5], 1, 2, 1), Math.log(2));
  assert.equal(sampleLoss('nll', [-0.25, -2], 0, 2, 1), 2);
  const underflow = sampleLoss('nll-of-probabilities', [1, 0], 0, 2, 1);
  assert.ok(Math.abs(underflow - 103.2789) < 1e-3, `-log of the smallest float32, got ${underflow}`);
});
