/**
 * safety analyzer, verdicts: hand-built ReLU networks with worked-out answers (both verdicts,
 * through bounds, branch and bound and the MILP), a MILP optimum against brute force, and
 * counterexamples re-checked by a fresh ONNX Runtime session opened by the test itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { int, type Model } from '../native/onnx/ir.js';
import { tensor } from '../native/onnx/tensor.js';
import { upgradeOpset } from '../native/onnx/upgrade.js';
import { lowerNetwork } from '../analyzers/safety/network.js';
import { layerBounds } from '../analyzers/safety/bounds.js';
import { solveMilp } from '../analyzers/safety/milp.js';
import { parseVnnlib } from '../analyzers/safety/vnnlib.js';
import type { LoadedDataset } from '../analyzers/types.js';
import { buildModel } from './helpers/onnx-builder.js';
import { freshForward, runSafety } from './helpers/safety-run.js';
import { denseForward, randomMlp, vNet } from './helpers/safety-nets.js';
import { cliSync } from './helpers/cli.js';

process.env.ONNXSCOPE_EP ??= 'cpu';

const prop1 = (unsafe: string) => `(declare-const X_0 Real)(declare-const Y_0 Real)(assert (>= X_0 0))(assert (<= X_0 1))(assert ${unsafe})`;

test('hand-worked V network: y >= 0.25 is unreachable, proved by CROWN at the root (IBP alone says y <= 1)', async () => {
  const r = await runSafety(vNet(), { vnnlib: prop1('(>= Y_0 0.25)'), timeout: 5 });
  assert.equal(r.status, 'holds');
  const c = r.checks[0]!;
  assert.equal(c.method, 'bounds');
  assert.equal(c.domains, 1);
  // Lower bound of 0.25 - y over the box: CROWN gives y <= 0 so the bound is 0.25 (minus rounding).
  assert.ok(Math.abs(c.lowerBound! - 0.25) < 1e-6, `lower bound ${c.lowerBound}`);
});

test('hand-worked V network: y <= -0.4 is reachable (x in [0.4, 0.6]); the counterexample re-checks in a fresh session', async () => {
  const model = vNet();
  const r = await runSafety(model, { vnnlib: prop1('(<= Y_0 -0.4)'), timeout: 5 });
  assert.equal(r.status, 'violated');
  const cex = r.checks[0]!.counterexample!;
  assert.ok(cex.input[0]! >= 0.4 - 1e-6 && cex.input[0]! <= 0.6 + 1e-6, `x = ${cex.input[0]}`);
  const y = await freshForward(model, cex.input, [1, 1]);
  assert.ok(y[0]! <= -0.4, `fresh forward y = ${y[0]}`);
  assert.equal(y[0], cex.output[0]);
  // Closed form: y = -x or x - 1.
  assert.ok(Math.abs(y[0]! - Math.max(-cex.input[0]!, cex.input[0]! - 1)) < 1e-6);
});

/**
 * x in [-1, 1]; h = relu([x, x - 1/2]); y = h0 - 2 h1: 0 for x <= 0, x on [0, 1/2], 1 - x on [1/2, 1];
 * min 0. Root bounds: h1 <= (z1 + 3/2)/4 (chord over [-3/2, 1/2]) and h0 >= a x with a = 0
 * (adaptive) or 1/2 (parallel), so y >= -1/2 at best: loose.
 */
function tentNet(): Model {
  return buildModel({
    opset: 13,
    inputs: [{ name: 'x', dtype: 'float32', dims: [1, 1] }],
    nodes: [
      { op: 'Gemm', inputs: ['x', 'w1', 'b1'], outputs: ['z'], attrs: { transB: int(1) } },
      { op: 'Relu', inputs: ['z'], outputs: ['h'] },
      { op: 'Gemm', inputs: ['h', 'w2', 'b2'], outputs: ['y'], attrs: { transB: int(1) } },
    ],
    outputs: ['y'],
    initializers: { w1: tensor('float32', [2, 1], [1, 1]), b1: tensor('float32', [2], [0, -0.5]), w2: tensor('float32', [1, 2], [1, -2]), b2: tensor('float32', [1], [0]) },
  });
}

test('hand-worked tent network: y <= -0.2 is unreachable (min is 0) but root bounds only give -1/2: branch and bound, or the MILP, proves it', async () => {
  const prop = '(declare-const X_0 Real)(declare-const Y_0 Real)(assert (>= X_0 -1))(assert (<= X_0 1))(assert (<= Y_0 -0.2))';
  const bab = await runSafety(tentNet(), { vnnlib: prop, timeout: 10, milp: false });
  assert.equal(bab.status, 'holds');
  assert.equal(bab.checks[0]!.method, 'branch-and-bound');
  assert.ok(bab.checks[0]!.domains > 1);
  // The proven bound on y + 0.2 can be no better than the true minimum 0.2.
  assert.ok(bab.checks[0]!.lowerBound! <= 0.2 + 1e-9 && bab.checks[0]!.lowerBound! > 0, `${bab.checks[0]!.lowerBound}`);
  const milp = await runSafety(tentNet(), { vnnlib: prop, timeout: 10, milp: true, inputSplitting: false });
  assert.equal(milp.status, 'holds');
  assert.equal(milp.checks[0]!.method, 'milp');
  // The MILP optimum is exact: min (y + 0.2) = 0.2.
  assert.ok(Math.abs(milp.checks[0]!.lowerBound! - 0.2) < 1e-5, `MILP bound ${milp.checks[0]!.lowerBound}`);
  // y <= 0.1 is reachable (x <= 0.1): violated.
  const reach = await runSafety(tentNet(), { vnnlib: prop.replace('-0.2', '0.1'), timeout: 5 });
  assert.equal(reach.status, 'violated');
});

test('MILP optimum matches brute force on a random 2-D ReLU network', async () => {
  const { model, layers } = randomMlp([2, 10, 10, 2], 21);
  const net = lowerNetwork(upgradeOpset(model));
  const box = { lo: Float64Array.of(-1, -0.5), hi: Float64Array.of(0.5, 1) };
  // min over the box of y0 - y1 (the unsafe constraint y0 - y1 <= b; objective s = y0 - y1 - b).
  const text = `(declare-const X_0 Real)(declare-const X_1 Real)(declare-const Y_0 Real)(declare-const Y_1 Real)
    (assert (>= X_0 -1))(assert (<= X_0 0.5))(assert (>= X_1 -0.5))(assert (<= X_1 1))(assert (<= (- Y_0 Y_1) 0))`;
  const d = parseVnnlib(text).disjuncts[0]!;
  const lb = layerBounds(net, box);
  const r = await solveMilp(net, box, lb.pre, d, 20);
  assert.ok(r.objective !== undefined && r.x, r.message);
  let gridMin = Infinity;
  const N = 150;
  for (let i = 0; i <= N; i++) {
    for (let j = 0; j <= N; j++) {
      const x = [-1 + (1.5 * i) / N, -0.5 + (1.5 * j) / N];
      const { y } = denseForward(layers, x);
      gridMin = Math.min(gridMin, y[0]! - y[1]!);
    }
  }
  // The MILP optimum is the true minimum: never above the grid's, and at most a grid cell's worth below.
  const reported = r.objective!;
  assert.ok(reported <= gridMin + 1e-5, `MILP ${reported} vs grid ${gridMin}`);
  assert.ok(reported >= gridMin - 0.05, `MILP ${reported} vs grid ${gridMin}`);
  const { y } = denseForward(layers, Array.from(r.x!));
  assert.ok(Math.abs(y[0]! - y[1]! - reported) < 1e-5, 'the MILP minimizer attains the optimum');
});

test('random 2-D ReLU network: thresholds just below / at the brute-force minimum give holds / violated', async () => {
  const { model, layers } = randomMlp([2, 12, 12, 2], 33);
  let gridMin = Infinity;
  const N = 200;
  for (let i = 0; i <= N; i++) {
    for (let j = 0; j <= N; j++) {
      const { y } = denseForward(layers, [-1 + (2 * i) / N, -1 + (2 * j) / N]);
      gridMin = Math.min(gridMin, y[0]! - y[1]!);
    }
  }
  const prop = (b: number) => `(declare-const X_0 Real)(declare-const X_1 Real)(declare-const Y_0 Real)(declare-const Y_1 Real)
    (assert (>= X_0 -1))(assert (<= X_0 1))(assert (>= X_1 -1))(assert (<= X_1 1))(assert (<= (- Y_0 Y_1) ${b}))`;
  // Lipschitz slack of a 0.01 grid is far below 0.3 for these weights (|W| ~ 1/sqrt(n)).
  for (const milp of [false, true]) {
    const safe = await runSafety(model, { vnnlib: prop(gridMin - 0.3), timeout: 20, milp });
    assert.equal(safe.status, 'holds', `milp=${milp}: ${JSON.stringify(safe.checks[0])}`);
  }
  const unsafe = await runSafety(model, { vnnlib: prop(gridMin + 1e-3), timeout: 20 });
  assert.equal(unsafe.status, 'violated');
  const cex = unsafe.checks[0]!.counterexample!;
  const y = await freshForward(model, cex.input, [1, 2]);
  assert.ok(y[0]! - y[1]! <= gridMin + 1e-3, 'fresh ORT forward confirms');
  for (const v of cex.input) assert.ok(v >= -1 && v <= 1, 'inside the box');
});

test('a disjunct with no output constraints is violated by any point of its box', async () => {
  const r = await runSafety(vNet(), { vnnlib: '(declare-const X_0 Real)(declare-const Y_0 Real)(assert (>= X_0 0.2))(assert (<= X_0 0.3))', timeout: 2 });
  assert.equal(r.status, 'violated');
  const x = r.checks[0]!.counterexample!.input[0]!;
  assert.ok(x >= 0.2 && x <= 0.3);
});

test('bad properties are BAD_PARAMS (size mismatch with the model, no property, two properties)', async () => {
  const wrongSize = '(declare-const X_0 Real)(declare-const X_1 Real)(declare-const Y_0 Real)(assert (>= X_0 0))(assert (<= X_0 1))(assert (>= X_1 0))(assert (<= X_1 1))(assert (<= Y_0 0))';
  await assert.rejects(runSafety(vNet(), { vnnlib: wrongSize, timeout: 1 }), (e: Error & { code?: string }) => e.code === 'BAD_PARAMS' && /2 inputs/.test(e.message));
  await assert.rejects(runSafety(vNet(), { timeout: 1 }), (e: Error & { code?: string }) => e.code === 'BAD_PARAMS');
  await assert.rejects(runSafety(vNet(), { vnnlib: prop1('(<= Y_0 0)'), eps: 0.1, timeout: 1 }), (e: Error & { code?: string }) => e.code === 'BAD_PARAMS');
});

/** Two classes from one input: y0 = x (class 0), y1 = 0.5; via a ReLU (x >= 0). */
function thresholdNet(): Model {
  return buildModel({
    opset: 13,
    inputs: [{ name: 'x', dtype: 'float32', dims: [1, 1] }],
    nodes: [
      { op: 'Relu', inputs: ['x'], outputs: ['h'] },
      { op: 'Gemm', inputs: ['h', 'w', 'b'], outputs: ['y'], attrs: { transB: int(1) } },
    ],
    outputs: ['y'],
    initializers: { w: tensor('float32', [2, 1], [1, 0]), b: tensor('float32', [2], [0, 0.5]) },
  });
}

function dataset(xs: number[][], ys: number[]): LoadedDataset {
  return { sha256: 'test', format: 'npz', count: xs.length, sampleShape: [xs[0]!.length], x: Float32Array.from(xs.flat()), y: Int32Array.from(ys), yShape: [] };
}

test('local robustness: eps balls around samples, clipped to inputRange (worked by hand)', async () => {
  const model = thresholdNet();
  // Sample 0: x = 0.8, label 0. Ball [0.6, 1.0]: y0 >= 0.6 > 0.5 -> holds. Ball radius 0.35: [0.45, 1] -> violated at x <= 0.5.
  // Sample 1: x = 0.3, label 0: misclassified already (0.3 < 0.5).
  // Sample 2: x = 0.95, label 0, eps 0.2 -> [0.75, 1.0] after clipping to [0, 1].
  const data = dataset([[0.8], [0.3], [0.95]], [0, 0, 0]);
  const ok = await runSafety(model, { eps: 0.2, indices: [0, 2], timeout: 5 }, data);
  assert.equal(ok.status, 'holds');
  assert.equal(ok.property, 'robustness');
  assert.deepEqual(ok.checks.map((c) => c.status), ['holds', 'holds']);
  // Proven bound of y0 - y1 over [0.6, 1]: exactly 0.1 for sample 0 (one linear piece), 0.25 for sample 2.
  assert.ok(Math.abs(ok.checks[0]!.lowerBound! - 0.1) < 1e-6, `${ok.checks[0]!.lowerBound}`);
  assert.ok(Math.abs(ok.checks[1]!.lowerBound! - 0.25) < 1e-6, `${ok.checks[1]!.lowerBound}`);
  const bad = await runSafety(model, { eps: 0.35, indices: [0, 1], timeout: 5 }, data);
  assert.equal(bad.status, 'violated');
  assert.equal(bad.violated, 2);
  const cex = bad.checks[0]!.counterexample!;
  assert.ok(cex.input[0]! >= 0.45 - 1e-7 && cex.input[0]! <= 0.5, `x = ${cex.input[0]}`);
  const y = await freshForward(model, cex.input, [1, 1]);
  assert.ok(y[0]! <= y[1]!);
  assert.equal(bad.checks[1]!.method, 'clean sample');
  assert.equal(bad.checks[1]!.predicted, 1);
  // inputRange narrows the ball: [0.7, 1] instead of [0.45, 1.15] -> holds again.
  const narrowed = await runSafety(model, { eps: 0.35, indices: [0], inputRange: [0.7, 1], timeout: 5 }, data);
  assert.equal(narrowed.status, 'holds');
  await assert.rejects(runSafety(model, { eps: 0.1, timeout: 1 }), (e: Error & { code?: string }) => e.code === 'BAD_DATASET');
});

test('DLV manipulations: brightness ladder and salient-pixel deltas, enumerated exhaustively', async () => {
  const model = thresholdNet();
  const data = dataset([[0.8]], [0]);
  // Offsets {-0.2, -0.1, 0, 0.1, 0.2}: lowest x = 0.6 > 0.5.
  const holds = await runSafety(model, { manipulation: 'brightness', manipulationRange: 0.2, manipulationSteps: 5, timeout: 5 }, data);
  assert.equal(holds.status, 'holds');
  assert.equal(holds.checks[0]!.familySize, 5);
  assert.equal(holds.checks[0]!.evaluations, 5);
  assert.ok(Math.abs(holds.checks[0]!.lowerBound! - 0.1) < 1e-6, 'smallest class margin over the family: 0.6 - 0.5');
  // Offsets {-0.4, ..., 0.4}: x = 0.4 flips the class.
  const flips = await runSafety(model, { manipulation: 'brightness', manipulationRange: 0.4, manipulationSteps: 5, timeout: 5 }, data);
  assert.equal(flips.status, 'violated');
  assert.match(flips.checks[0]!.counterexample!.description!, /offset -0.4/);
  // Contrast factors {0.5, 1, 1.5}: 0.4 < 0.5.
  const contrast = await runSafety(model, { manipulation: 'contrast', manipulationRange: 0.5, manipulationSteps: 3, timeout: 5 }, data);
  assert.equal(contrast.status, 'violated');

  // Three inputs; y0 = 2 x0 + 0.1 x1, y1 = 1: the most salient input is x0.
  const three = buildModel({
    opset: 13,
    inputs: [{ name: 'x', dtype: 'float32', dims: [1, 3] }],
    nodes: [
      { op: 'Relu', inputs: ['x'], outputs: ['h'] },
      { op: 'Gemm', inputs: ['h', 'w', 'b'], outputs: ['y'], attrs: { transB: int(1) } },
    ],
    outputs: ['y'],
    initializers: { w: tensor('float32', [2, 3], [2, 0.1, 0, 0, 0, 0]), b: tensor('float32', [2], [0, 1]) },
  });
  const d3 = dataset([[0.6, 0.5, 0.5]], [0]); // y0 = 1.25
  const px = await runSafety(three, { manipulation: 'pixels', pixels: 1, manipulationRange: 0.2, manipulationSteps: 3, timeout: 5 }, d3);
  assert.deepEqual(px.checks[0]!.pixels, [0]);
  assert.equal(px.status, 'violated', 'x0 = 0.4 gives y0 = 0.85 < 1');
  const px2 = await runSafety(three, { manipulation: 'pixels', pixels: 2, manipulationRange: 0.1, manipulationSteps: 3, timeout: 5 }, d3);
  assert.deepEqual(px2.checks[0]!.pixels, [0, 1]);
  assert.equal(px2.status, 'holds', 'worst: x0 = 0.5, x1 = 0.4 -> y0 = 1.04 > 1');
  assert.equal(px2.checks[0]!.familySize, 9);
  const capped = await runSafety(three, { manipulation: 'pixels', pixels: 2, manipulationRange: 0.1, manipulationSteps: 3, maxEvaluations: 4, timeout: 5 }, d3);
  assert.equal(capped.status, 'unknown', 'budget below the family size');
});

test('onnxscope verify: one JSON object on stdout, exit 0 on every verdict, 2 on bad input', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { serializeModel } = await import('../native/onnx/ir.js');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-verify-'));
  try {
    const model = path.join(dir, 'v.onnx');
    writeFileSync(model, serializeModel(vNet()));
    const run = (prop: string, extra: string[] = []) => {
      const file = path.join(dir, 'p.vnnlib');
      writeFileSync(file, prop);
      return cliSync(['verify', '--model', model, '--vnnlib', file, ...extra], {}, 60_000);
    };
    for (const [unsafe, status] of [
      ['(>= Y_0 0.25)', 'holds'],
      ['(<= Y_0 -0.4)', 'violated'],
    ] as const) {
      const r = run(prop1(unsafe), ['--timeout', '5', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, 1, 'exactly one line on stdout');
      const answer = JSON.parse(lines[0]!);
      assert.deepEqual(Object.keys(answer).sort(), ['analyzer', 'cached', 'durationMs', 'result', 'version']);
      assert.equal(answer.analyzer, 'safety');
      assert.equal(answer.cached, false);
      assert.equal(answer.result.status, status);
    }
    const bad = run('(declare-const X_0 Real)(assert (<= X_0 1)', ['--json']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /BAD_PARAMS: vnnlib/);
    const missing = cliSync(['verify', '--model', path.join(dir, 'nope.onnx'), '--vnnlib', path.join(dir, 'p.vnnlib')]);
    assert.equal(missing.code, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
