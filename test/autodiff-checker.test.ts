/**
 * The checkers themselves can fail: each is run on a deliberately wrong rule, swapped into the
 * registry for the duration of one check, and must reject it; with the real rule back, the same
 * check passes. Without this, a checker that compared nothing would leave every rule test green.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../native/autodiff/rules/index.js';
import { overrideRule, ruleFor } from '../native/autodiff/registry.js';
import type { OpRule } from '../native/autodiff/types.js';
import { singleOp, buildModel } from './helpers/onnx-builder.js';
import { checkGradient, checkHvp } from './helpers/gradcheck.js';
import { tensor } from '../native/onnx/tensor.js';
import { Rng } from '../common/random.js';

const rng = new Rng(5);
const rand = (dims: number[], lo = -1, hi = 1) =>
  tensor('float64', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.uniform(lo, hi)));

async function withRule<T>(rule: OpRule, body: () => Promise<T>): Promise<T> {
  const restore = overrideRule(rule);
  try {
    return await body();
  } finally {
    restore();
  }
}

const sin = singleOp('Sin', [{ name: 'x', dims: [3, 4] }]);
const feeds = { x: rand([3, 4], -2, 2) };

test('checkGradient rejects a VJP rule with the wrong derivative (Sin with d/dx = sin x instead of cos x)', async () => {
  const real = ruleFor('Sin')!;
  const wrong: OpRule = { ops: ['Sin'], vjp: (ctx, [dy]) => [ctx.b.mul(dy!, ctx.b.op('Sin', [ctx.node.inputs[0]!]))], jvp: real.jvp };
  const bad = await withRule(wrong, () => checkGradient(sin, feeds));
  assert.equal(bad.ok, false, `a wrong VJP passed: ${JSON.stringify(bad)}`);
  assert.ok(bad.relError > 1e-2, JSON.stringify(bad));
  const good = await checkGradient(sin, feeds);
  assert.ok(good.ok, JSON.stringify(good));
});

test('checkGradient rejects a VJP rule that drops the gradient (zero cotangent)', async () => {
  const bad = await withRule({ ops: ['Sin'], vjp: () => [null], jvp: ruleFor('Sin')!.jvp }, () => checkGradient(sin, feeds));
  assert.equal(bad.ok, false, JSON.stringify(bad));
});

test('checkHvp rejects a wrong JVP rule in the backward graph (Cos with d/dx = +sin x), which checkGradient cannot see', async () => {
  // Sin's VJP emits Cos; Cos's JVP only enters the Hessian-vector product.
  const real = ruleFor('Cos')!;
  const wrong: OpRule = { ops: ['Cos'], vjp: real.vjp, jvp: (ctx, [t]) => [ctx.b.mul(t!, ctx.b.op('Sin', [ctx.node.inputs[0]!]))] };
  const [g, h] = await withRule(wrong, async () => [await checkGradient(sin, feeds), await checkHvp(sin, feeds)] as const);
  assert.ok(g.ok, `the gradient does not involve Cos's JVP: ${JSON.stringify(g)}`);
  assert.equal(h.ok, false, `a wrong JVP passed: ${JSON.stringify(h)}`);
  const good = await checkHvp(sin, feeds);
  assert.ok(good.ok && good.magnitude > 1, JSON.stringify(good));
});

test('checkHvp rejects a wrong JVP of a linear op, whose own Hessian is zero (Transpose that forgets its tangent)', async () => {
  // With a linear head, H d of a linear op is zero whatever its JVP does; the checker's
  // quadratic head makes it J^T J d, so a JVP that drops the tangent is caught.
  const transpose = buildModel({
    inputs: [{ name: 'x', dtype: 'float64', dims: [2, 3] }],
    nodes: [{ op: 'Transpose', inputs: ['x'], outputs: ['y'], attrs: { perm: { kind: 'ints', value: [1, 0] } } }],
    outputs: ['y'],
  });
  const x = { x: rand([2, 3]) };
  const good = await checkHvp(transpose, x);
  assert.ok(good.ok && good.magnitude > 0.1, JSON.stringify(good));
  const bad = await withRule({ ops: ['Transpose'], vjp: ruleFor('Transpose')!.vjp, jvp: () => [null] }, () => checkHvp(transpose, x));
  assert.equal(bad.ok, false, JSON.stringify(bad));
});

test('checkHvp refuses to call a zero Hessian-vector product a pass unless told to', async () => {
  // y = x + c: its gradient does not depend on x, but the quadratic head still gives H d = d.
  // A model with no path from x to the output at all has H d = 0 exactly.
  const constant = buildModel({
    inputs: [{ name: 'x', dtype: 'float64', dims: [3] }],
    initializers: { c: tensor('float64', [3], [1, 2, 3]) },
    nodes: [
      { op: 'Shape', inputs: ['x'], outputs: ['s'] },
      { op: 'Expand', inputs: ['c', 's'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
  const x = { x: rand([3]) };
  const vacuous = await checkHvp(constant, x);
  assert.equal(vacuous.magnitude, 0);
  assert.equal(vacuous.ok, false);
  assert.equal((await checkHvp(constant, x, { allowZeroHessian: true })).ok, true);
});
