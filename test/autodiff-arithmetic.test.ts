import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../native/autodiff/rules/index.js';
import { singleOp } from './helpers/onnx-builder.js';
import { checkGradient, checkHvp } from './helpers/gradcheck.js';
import { tensor } from '../native/onnx/tensor.js';
import { Rng } from '../common/random.js';

const rng = new Rng(1);
const rand = (dims: number[], lo = -1, hi = 1) =>
  tensor('float64', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.uniform(lo, hi)));

for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
  test(`${op} with broadcasting: gradient and HVP match finite differences`, async () => {
    const model = singleOp(op, [
      { name: 'a', dims: [2, 3, 4] },
      { name: 'b', dims: [3, 1] },
    ]);
    const feeds = { a: rand([2, 3, 4]), b: rand([3, 1], 0.5, 2) };
    const g = await checkGradient(model, feeds);
    assert.ok(g.ok, `gradient: ${JSON.stringify(g)}`);
    const h = await checkHvp(model, feeds);
    assert.ok(h.ok, `hvp: ${JSON.stringify(h)}`);
  });
}

test('Neg, Identity, Sum(3 inputs, broadcast)', async () => {
  for (const op of ['Neg', 'Identity']) {
    const r = await checkGradient(singleOp(op, [{ name: 'x', dims: [3, 2] }]), { x: rand([3, 2]) });
    assert.ok(r.ok, `${op}: ${JSON.stringify(r)}`);
  }
  const model = singleOp('Sum', [
    { name: 'a', dims: [2, 3] },
    { name: 'b', dims: [3] },
    { name: 'c', dims: [1, 1] },
  ]);
  const feeds = { a: rand([2, 3]), b: rand([3]), c: rand([1, 1]) };
  assert.ok((await checkGradient(model, feeds)).ok);
  assert.ok((await checkHvp(model, feeds)).ok);
});
