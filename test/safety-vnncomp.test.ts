/**
 * safety analyzer on the real VNN-COMP 2021 benchmarks (test/data/vnncomp2021): the mnistfc
 * 256x2 ReLU network and the verivital CNNs. The competition gave 120 s (mnistfc) and 300/420 s
 * (verivital) per instance (the instances CSVs); we run with budgets of a few seconds, so some
 * instances may end "unknown". What is asserted for every run:
 *   - violated: the counterexample lies in the property's box and a fresh ONNX Runtime session,
 *     opened here, confirms that its output satisfies a disjunct of the unsafe set;
 *   - holds: the test's own search (PGD in float64 on weights read here for mnistfc, random
 *     corners for the CNNs) finds no counterexample.
 * And for instances whose verdict is robust at these budgets: the verdict itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Rng } from '../common/random.js';
import { loadModel } from '../native/onnx/load.js';
import type { Model } from '../native/onnx/ir.js';
import { parseVnnlib, satisfiesAll, type Property } from '../analyzers/safety/vnnlib.js';
import type { SafetyResult } from '../analyzers/safety/index.js';
import { freshForward, runSafety } from './helpers/safety-run.js';
import { denseForward, type Dense } from './helpers/safety-nets.js';
import { readTestData, testData } from './helpers/test-data.js';

process.env.ONNXSCOPE_EP ??= 'cpu';
const ROOT = testData('vnncomp2021');

const fileBytes = new Map<Model, Uint8Array>();
function readModel(path: string): Model {
  const bytes = new Uint8Array(readFileSync(path));
  const model = loadModel(bytes);
  fileBytes.set(model, bytes);
  return model;
}
/** Forward pass of the file's own bytes in a session opened here. */
const fileForward = (model: Model, x: number[], dims: number[]) => freshForward(model, x, dims, fileBytes.get(model));

/** The Gemm layers of mnistfc, read from the IR (weights [out, in], transB = 1). */
function denseLayers(model: Model): Dense[] {
  const g = model.graph;
  return g.nodes
    .filter((n) => n.opType === 'Gemm')
    .map((n) => {
      const W = g.initializers.get(n.inputs[1]!)!;
      const b = g.initializers.get(n.inputs[2]!)!;
      return { W: Array.from(W.data as Float32Array), b: Array.from(b.data as Float32Array), out: W.dims[0]!, in: W.dims[1]! };
    });
}

/** The test's own search: signed-gradient descent on a.y - b per disjunct, from the centre and random starts. */
function ownPgd(layers: Dense[], prop: Property, seed: number): number[] | null {
  const rng = new Rng(seed);
  for (const d of prop.disjuncts) {
    const c = d.constraints[0]!;
    for (let r = 0; r < 3; r++) {
      const x = Array.from(d.lo, (l, i) => (r === 0 ? 0.5 * (l + d.hi[i]!) : rng.uniform(l, d.hi[i]!)));
      for (let s = 0; s < 40; s++) {
        const { y, g } = denseForward(layers, x, c.a);
        if (satisfiesAll(d, y)) return x;
        const step = 0.25 * Math.pow(1 / 16, s / 39);
        for (let i = 0; i < x.length; i++) x[i] = Math.min(d.hi[i]!, Math.max(d.lo[i]!, x[i]! - Math.sign(g![i]!) * step * (d.hi[i]! - d.lo[i]!)));
      }
      if (satisfiesAll(d, denseForward(layers, x).y)) return x;
    }
  }
  return null;
}

async function checkConsistent(model: Model, prop: Property, r: SafetyResult, ownWitness: number[] | null, dims: number[], what: string) {
  const c = r.checks[0]!;
  if (r.status === 'violated') {
    const cex = c.counterexample!;
    const d = prop.disjuncts[cex.disjunct!]!;
    cex.input.forEach((v, i) => assert.ok(v >= d.lo[i]! && v <= d.hi[i]!, `${what}: input ${i} outside the box`));
    const y = await fileForward(model, cex.input, dims);
    assert.ok(satisfiesAll(d, y), `${what}: a fresh ORT forward pass confirms the counterexample`);
    assert.deepEqual(y, cex.output, `${what}: reported outputs are ORT's`);
  }
  if (ownWitness) {
    const y = await fileForward(model, ownWitness, dims);
    if (prop.disjuncts.some((d) => satisfiesAll(d, y))) assert.notEqual(r.status, 'holds', `${what}: holds contradicts the test's own counterexample`);
  }
}

test('mnistfc 256x2: verdicts with checked counterexamples, never contradicting the test\'s own PGD', async () => {
  const model = readModel(`${ROOT}/mnistfc/mnist-net_256x2.onnx`);
  const layers = denseLayers(model);
  // [property, expected verdict at this budget or null for "consistent only", timeout s]
  const cases: Array<[string, string | null, number]> = [
    ['prop_2_0.03', 'holds', 8], // CROWN proves it at the root
    ['prop_0_0.03', 'holds', 25], // needs branch and bound (~10 ReLU-split domains)
    ['prop_13_0.03', 'holds', 30], // ReLU splitting with beta-CROWN: ~20 domains (the CSR search without beta: open at 60 s)
    ['prop_0_0.05', 'violated', 30], // VNN-COMP 2021: sat; found by the ReLU-splitting search's minimizers (~45 domains)
    ['prop_1_0.05', 'violated', 8], // VNN-COMP 2021: sat
    ['prop_3_0.05', 'violated', 8],
    ['prop_5_0.05', null, 4],
    ['prop_6_0.05', null, 4],
  ];
  const seen: Record<string, number> = {};
  for (const [name, expected, timeout] of cases) {
    const text = readFileSync(`${ROOT}/mnistfc/${name}.vnnlib`, 'utf8');
    const prop = parseVnnlib(text);
    const r = await runSafety(model, { vnnlib: text, timeout });
    seen[r.status] = (seen[r.status] ?? 0) + 1;
    const own = ownPgd(layers, prop, 1);
    await checkConsistent(model, prop, r, own, [1, 784, 1], name);
    if (expected) assert.equal(r.status, expected, `${name}: ${JSON.stringify({ ...r.checks[0], counterexample: undefined })}`);
    if (r.status === 'holds') {
      assert.equal(own, null, `${name}: the test's PGD must not find a counterexample to a proved property`);
      assert.ok(r.checks[0]!.lowerBound! > 0);
    }
  }
  assert.ok(seen.holds! >= 2 && seen.violated! >= 2, JSON.stringify(seen));
});

test('verivital CNNs (avg pool, max pool): verdicts consistent with random corner search', async () => {
  const cases: Array<[string, string, string | null]> = [
    ['Convnet_avgpool', 'avgpool_specs/prop_0_0.02', 'holds'],
    ['Convnet_avgpool', 'avgpool_specs/prop_8_0.04', 'violated'],
    ['Convnet_avgpool', 'avgpool_specs/prop_4_0.04', null],
    ['Convnet_maxpool', 'maxpool_specs/prop_0_0.004', 'holds'],
  ];
  const rng = new Rng(5);
  for (const [net, spec, expected] of cases) {
    const model = readModel(`${ROOT}/verivital/${net}.onnx`);
    const text = readFileSync(`${ROOT}/verivital/specs/${spec}.vnnlib`, 'utf8');
    const prop = parseVnnlib(text);
    const r = await runSafety(model, { vnnlib: text, timeout: 6 });
    // Own search: 30 random corners of the box (ReLU nets are often extreme at corners).
    let witness: number[] | null = null;
    const d = prop.disjuncts[0]!;
    for (let t = 0; t < 30 && !witness; t++) {
      const x = Array.from(d.lo, (l, i) => (rng.next() < 0.5 ? l : d.hi[i]!));
      const y = await fileForward(model, x, [1, 1, 28, 28]);
      if (prop.disjuncts.some((dd) => satisfiesAll(dd, y))) witness = x;
    }
    await checkConsistent(model, prop, r, witness, [1, 1, 28, 28], `${net} ${spec}`);
    if (expected) assert.equal(r.status, expected, `${net} ${spec}`);
  }
});

test('local robustness on a real classifier with a LogSoftmax head (cnn_mnist_pytorch, ERAN MNIST images)', async () => {
  const bytes = readTestData('onnxruntime/cnn_mnist_pytorch.onnx');
  const model = loadModel(bytes);
  const rows = readFileSync(testData('eran/mnist_test.csv'), 'utf8').trim().split('\n').slice(0, 5).map((l) => l.split(',').map(Number));
  const data = {
    sha256: 'eran5',
    format: 'csv' as const,
    count: rows.length,
    sampleShape: [1, 28, 28],
    x: Float32Array.from(rows.flatMap((r) => r.slice(1).map((v) => v / 255))),
    y: Int32Array.from(rows.map((r) => r[0]!)),
    yShape: [],
  };
  // eps = 0.01: small enough for root bounds on the logits (the LogSoftmax is dropped for the proof).
  // Budgets far above the ~1 s these take alone: a decided check returns at once, and a loaded
  // machine must not turn a verdict into 'unknown'.
  const small = await runSafety(model, { eps: 0.01, indices: [0, 1, 2], timeout: 60 }, data);
  assert.equal(small.status, 'holds', JSON.stringify(small.checks.map((c) => [c.status, c.lowerBound])));
  assert.match(small.notes.join(' '), /logits/);
  // eps = 0.12: samples 2 and 4 have adversarial examples PGD finds; each is checked here.
  const big = await runSafety(model, { eps: 0.12, indices: [2, 4], timeout: 60 }, data);
  const rng = new Rng(9);
  for (const c of big.checks) {
    const x0 = data.x.slice(c.index! * 784, (c.index! + 1) * 784);
    if (c.status === 'violated') {
      const cex = c.counterexample!;
      cex.input.forEach((v, i) => assert.ok(v >= Math.max(0, x0[i]! - 0.12) - 1e-7 && v <= Math.min(1, x0[i]! + 0.12) + 1e-7, 'inside the clipped ball'));
      const y = await freshForward(model, cex.input, [1, 1, 28, 28], bytes);
      const others = y.filter((_, j) => j !== c.label);
      assert.ok(Math.max(...others) >= y[c.label!]!, 'a fresh ORT pass confirms the class changes');
    }
    if (c.status === 'holds') {
      for (let t = 0; t < 10; t++) {
        const x = Array.from(x0, (v) => Math.min(1, Math.max(0, v + (rng.next() < 0.5 ? -0.12 : 0.12))));
        const y = await freshForward(model, x, [1, 1, 28, 28], bytes);
        assert.equal(y.indexOf(Math.max(...y)), c.label, 'holds is not contradicted by a corner of the ball');
      }
    }
  }
  assert.ok(big.violated >= 1, JSON.stringify(big.checks.map((c) => [c.status, c.searchBest])));
});
