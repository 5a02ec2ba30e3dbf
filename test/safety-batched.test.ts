/**
 * The batched dense input-splitting search (dense.ts, dense-bounds.ts, inputsplit.ts) and the
 * VNN-COMP interface (vnncomp.ts, bench/vnncomp.ts):
 *  - the dense form computes what the lowered chain and ONNX Runtime compute, its gradient what
 *    central differences give;
 *  - soundness: for batches of random boxes (and sub-boxes inheriting their parent's bounds), no
 *    sampled point leaves a computed pre-activation interval or goes below an output row's bound;
 *    one batch gives the same bounds as its boxes one at a time; alpha-CROWN is never below the
 *    fixed slopes;
 *  - ACAS Xu: 1_1 prop_1 holds (published: prop_1 holds on all 45 networks, Katz et al. 2017,
 *    VNN-COMP 2021) and the test's own sampling finds no violation; 2_1 prop_2 is violated with a
 *    counterexample a fresh ORT session confirms;
 *  - the dense multi-start PGD (dense-attack.ts) finds 2_1 prop_2's violation, confirmed by a fresh
 *    ORT session, and nothing on 1_1 prop_1 (which holds), its best score staying above 0;
 *  - the VNN-COMP result text and score, and the instance-list reader.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Rng } from '../common/random.js';
import { upgradeOpset } from '../native/onnx/upgrade.js';
import { loadModel } from '../native/onnx/load.js';
import { forward, lowerNetwork } from '../analyzers/safety/network.js';
import { denseForward, denseGradient, toDense, type DenseNet } from '../analyzers/safety/dense.js';
import { batchLayerBounds, batchOutputBounds, batchSplitOutputBounds, reluCount } from '../analyzers/safety/dense-bounds.js';
import { boundsOfBatch, DensePool, type BoundsJob } from '../analyzers/safety/dense-pool.js';
import { parseVnnlib, satisfiesAll } from '../analyzers/safety/vnnlib.js';
import { vnncompResultText, vnncompScore } from '../analyzers/safety/vnncomp.js';
import { readInstances } from '../bench/vnncomp.js';
import { attackDense } from '../analyzers/safety/dense-attack.js';
import { newSearchState } from '../analyzers/safety/falsify.js';
import { ModelRunner } from '../analyzers/safety/runner.js';
import { randomMlp } from './helpers/safety-nets.js';
import { freshForward, runSafety } from './helpers/safety-run.js';
import { readTestData, testData } from './helpers/test-data.js';

const ACAS = 'vnncomp2021/acasxu';
const acasModel = (net: string) => loadModel(readTestData(`${ACAS}/ACASXU_run2a_${net}_batch_2000.onnx`));
const acasProp = (p: number) => readFileSync(testData(`${ACAS}/prop_${p}.vnnlib`), 'utf8');

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

/** Pre-activations of every layer at x, straight from the dense weights. */
function preActivations(net: DenseNet, x: ArrayLike<number>): Float64Array[] {
  const out: Float64Array[] = [];
  let h = Float64Array.from(x);
  for (const L of net.layers) {
    const z = new Float64Array(L.nOut);
    for (let r = 0; r < L.nOut; r++) {
      let s = L.b[r]!;
      for (let c = 0; c < L.nIn; c++) s += L.W[r * L.nIn + c]! * h[c]!;
      z[r] = s;
    }
    out.push(z);
    h = L.relu ? z.map((v) => (v > 0 ? v : 0)) : z;
  }
  return out;
}

test('dense form: ACAS Xu (Sub/MatMul/Add folded) and random MLPs compute what the layer chain and ONNX Runtime compute', async () => {
  const rng = new Rng(3);
  const ir = acasModel('1_1');
  const net = lowerNetwork(upgradeOpset(ir));
  const dn = toDense(net)!;
  assert.ok(dn, 'ACAS Xu has a dense form');
  assert.deepEqual(dn.layers.map((L) => `${L.nIn}>${L.nOut}${L.relu ? 'r' : ''}`), ['5>50r', '50>50r', '50>50r', '50>50r', '50>50r', '50>50r', '50>5']);
  const prop = parseVnnlib(acasProp(1)).disjuncts[0]!;
  for (let t = 0; t < 5; t++) {
    const x = prop.lo.map((l, i) => Math.fround(rng.uniform(l, prop.hi[i]!)));
    close(denseForward(dn, x), forward(net, x), 1e-12, 'dense vs chain');
    close(denseForward(dn, x), await freshForward(ir, Array.from(x), net.inputShape, readTestData(`${ACAS}/ACASXU_run2a_1_1_batch_2000.onnx`)), 1e-5, 'dense vs ORT');
  }
  const mlp = lowerNetwork(upgradeOpset(randomMlp([3, 7, 6, 2], 4).model));
  const dm = toDense(mlp)!;
  const x = [0.3, -0.2, 0.5];
  close(denseForward(dm, x), forward(mlp, x), 1e-12, 'mlp dense vs chain');
  // Gradient of a.y against central differences (away from kinks: tiny steps).
  const a = [1, -2];
  const g = denseGradient(dm, x, a);
  const h = 1e-6;
  for (let i = 0; i < 3; i++) {
    const up = x.slice();
    const dn2 = x.slice();
    up[i]! += h;
    dn2[i]! -= h;
    const f = (v: number[]) => denseForward(dm, v).reduce((s, y, j) => s + a[j]! * y, 0);
    assert.ok(Math.abs(g[i]! - (f(up) - f(dn2)) / (2 * h)) < 1e-6, `gradient ${i}`);
  }
});

test('soundness: batched bounds of random boxes and of sub-boxes with inherited bounds contain every sampled point', () => {
  const rng = new Rng(17);
  const nets: Array<[string, DenseNet]> = [
    ['mlp 4-16-16-3', toDense(lowerNetwork(upgradeOpset(randomMlp([4, 16, 16, 3], 5).model)))!],
    ['mlp 2-8-8-8-2', toDense(lowerNetwork(upgradeOpset(randomMlp([2, 8, 8, 8, 2], 6).model)))!],
    ['ACAS Xu 2_1', toDense(lowerNetwork(upgradeOpset(acasModel('2_1'))))!],
  ];
  let checked = 0;
  let alphaGained = 0;
  for (const [name, net] of nets) {
    const d = net.numInputs;
    const P = reluCount(net);
    const B = 4;
    const lo = new Float64Array(B * d);
    const hi = new Float64Array(B * d);
    for (let b = 0; b < B; b++) {
      const radius = [0.02, 0.1, 0.3, 0.6][b]!;
      for (let i = 0; i < d; i++) {
        const c = rng.uniform(-0.5, 0.5);
        lo[b * d + i] = c - radius * rng.uniform(0.2, 1);
        hi[b * d + i] = c + radius * rng.uniform(0.2, 1);
      }
    }
    const inherited = new Float64Array(B * 2 * P);
    for (let b = 0; b < B; b++) {
      inherited.fill(-Infinity, b * 2 * P, b * 2 * P + P);
      inherited.fill(Infinity, b * 2 * P + P, (b + 1) * 2 * P);
    }
    // Round 0: the boxes; round 1: a half of each, inheriting round 0's bounds.
    for (let round = 0; round < 2; round++) {
      if (round === 1) {
        for (let b = 0; b < B; b++) {
          const j = rng.int(d);
          const mid = 0.5 * (lo[b * d + j]! + hi[b * d + j]!);
          if (b % 2) lo[b * d + j] = mid;
          else hi[b * d + j] = mid;
        }
      }
      const bounds = batchLayerBounds(net, B, lo, hi, inherited);
      const rows = net.numOutputs;
      const dom = new Int32Array(B * rows);
      const C = new Float64Array(B * rows * rows);
      for (let b = 0; b < B; b++) for (let j = 0; j < rows; j++) (dom[b * rows + j] = b), (C[(b * rows + j) * rows + j] = j % 2 ? -1 : 1);
      const out = batchOutputBounds(net, bounds, lo, hi, dom, C);
      // alpha-CROWN never loses to the fixed slopes it starts from, and gains somewhere.
      const fixed = batchOutputBounds(net, bounds, lo, hi, dom, C, 'both');
      for (let r = 0; r < dom.length; r++) {
        assert.ok(out.lower[r]! >= fixed.lower[r]!, `${name}: optimized row ${r} below the fixed slopes`);
        if (out.lower[r]! > fixed.lower[r]! + 1e-9) alphaGained++;
      }
      // The same boxes one at a time give the same numbers (the batch does not mix boxes).
      for (let b = 0; b < B && round === 0; b++) {
        const one = batchLayerBounds(net, 1, lo.slice(b * d, (b + 1) * d), hi.slice(b * d, (b + 1) * d));
        const o1 = batchOutputBounds(net, one, lo.slice(b * d, (b + 1) * d), hi.slice(b * d, (b + 1) * d), new Int32Array(rows), C.slice(b * rows * rows, (b + 1) * rows * rows));
        close(o1.lower, out.lower.slice(b * rows, (b + 1) * rows), 0, `${name}: box ${b} alone`);
      }
      for (let b = 0; b < B; b++) {
        for (let s = 0; s < 300; s++) {
          const x = Array.from({ length: d }, (_, i) => {
            const l = lo[b * d + i]!;
            const u = hi[b * d + i]!;
            return s % 2 ? rng.uniform(l, u) : rng.next() < 0.5 ? l : u;
          });
          const z = preActivations(net, x);
          net.layers.forEach((L, q) => {
            if (!L.relu) return;
            const n = L.nOut;
            for (let j = 0; j < n; j++) {
              const v = z[q]![j]!;
              assert.ok(v >= bounds.lo[q]![b * n + j]! && v <= bounds.hi[q]![b * n + j]!, `${name} round ${round} box ${b} layer ${q} neuron ${j}: ${v} outside`);
            }
          });
          const y = z[z.length - 1]!;
          for (let j = 0; j < rows; j++) {
            const cy = (j % 2 ? -1 : 1) * y[j]!;
            assert.ok(cy >= out.lower[b * rows + j]!, `${name} round ${round} box ${b} row ${j}: ${cy} below ${out.lower[b * rows + j]}`);
          }
          checked++;
        }
      }
    }
  }
  assert.equal(checked, nets.length * 2 * 4 * 300);
  assert.ok(alphaGained > 0, 'alpha-CROWN tightens some row (else the optimization is not exercised)');
});

test('beta-CROWN on a hand-worked split: y = relu(x) - relu(-x) on x in [-1, 1] with the split x >= 0', () => {
  // Without the multiplier: relu(x) is exact (active), relu(-x) gets the chord (1 - x) / 2, so
  // y >= 1.5 x - 0.5, whose minimum over the box is -2 (at x = -1, outside the split). With
  // -beta x added: (1.5 - beta) x - 0.5, best at beta = 1.5: -0.5. The true minimum on x >= 0 is 0.
  const net: DenseNet = {
    numInputs: 1,
    numOutputs: 1,
    width: 2,
    layers: [
      { nIn: 1, nOut: 2, W: Float64Array.of(1, -1), b: new Float64Array(2), relu: true },
      { nIn: 2, nOut: 1, W: Float64Array.of(1, -1), b: new Float64Array(1), relu: false },
    ],
  };
  const lo = Float64Array.of(-1);
  const hi = Float64Array.of(1);
  const inherited = Float64Array.of(0, -Infinity, Infinity, Infinity); // z_0 >= 0 clamped
  const bounds = batchLayerBounds(net, 1, lo, hi, inherited);
  assert.ok(bounds.lo[0]![0] === 0 && Math.abs(bounds.hi[0]![0]! - 1) < 1e-8, `z_0 in [${bounds.lo[0]![0]}, ${bounds.hi[0]![0]}]`);
  const C = Float64Array.of(1);
  const dom = new Int32Array(1);
  const split = batchSplitOutputBounds(net, bounds, lo, hi, dom, C, { sign: [Int8Array.of(1, 0), null] }, 20);
  const none = batchSplitOutputBounds(net, bounds, lo, hi, dom, C, { sign: [Int8Array.of(0, 0), null] }, 20);
  assert.ok(Math.abs(none.lower[0]! + 2) < 1e-6, `alpha only: ${none.lower[0]}`);
  assert.ok(split.lower[0]! > -0.55 && split.lower[0]! <= 0, `with beta: ${split.lower[0]}`);
  assert.ok(Math.abs(split.beta[0]![0]! - 1.5) < 0.05, `multiplier ${split.beta[0]![0]}`);
});

test('soundness: ReLU-split domains with alpha/beta-CROWN contain every sampled point that satisfies the splits; beta tightens', () => {
  const rng = new Rng(23);
  let kept = 0;
  let betaGained = 0;
  for (const [widths, seed] of [[[4, 16, 16, 3], 7], [[3, 12, 12, 12, 2], 8]] as Array<[number[], number]>) {
    const net = toDense(lowerNetwork(upgradeOpset(randomMlp(widths, seed).model)))!;
    const d = net.numInputs;
    const P = reluCount(net);
    const reluLayers = net.layers.map((L, q) => q).filter((q) => net.layers[q]!.relu);
    for (let trial = 0; trial < 6; trial++) {
      const lo = new Float64Array(d);
      const hi = new Float64Array(d);
      for (let i = 0; i < d; i++) {
        const c = rng.uniform(-0.5, 0.5);
        lo[i] = c - 0.4;
        hi[i] = c + 0.4;
      }
      const inherited = new Float64Array(2 * P).fill(-Infinity, 0, P).fill(Infinity, P);
      const root = batchLayerBounds(net, 1, lo, hi, inherited);
      // Up to 3 splits on unstable neurons of any ReLU layer, random sides, clamped into the bounds.
      const sign = reluLayers.map((q) => new Int8Array(net.layers[q]!.nOut));
      const unstable: Array<[number, number, number]> = [];
      let o = 0;
      reluLayers.forEach((q, li) => {
        for (let j = 0; j < net.layers[q]!.nOut; j++) if (root.lo[q]![j]! < 0 && root.hi[q]![j]! > 0) unstable.push([li, j, o + j]);
        o += net.layers[q]!.nOut;
      });
      const clamped = inherited.slice();
      for (let k = 0; k < 3 && unstable.length > 0; k++) {
        const [li, j, t] = unstable.splice(rng.int(unstable.length), 1)[0]!;
        const side = rng.next() < 0.5 ? 1 : -1;
        sign[li]![j] = side;
        if (side === 1) clamped[t] = Math.max(clamped[t]!, 0);
        else clamped[P + t] = Math.min(clamped[P + t]!, 0);
      }
      const bounds = batchLayerBounds(net, 1, lo, hi, clamped);
      if (clamped.some((v, t) => t < P && v > clamped[P + t]!)) continue; // contradictory splits: empty
      const rows = net.numOutputs;
      const C = new Float64Array(rows * rows);
      for (let j = 0; j < rows; j++) C[j * rows + j] = j % 2 ? -1 : 1;
      const dom = new Int32Array(rows);
      const full = (layerArr: Int8Array[]) => net.layers.map((L, q) => (L.relu && q < net.layers.length - 1 ? layerArr[reluLayers.indexOf(q)]! : null));
      const withBeta = batchSplitOutputBounds(net, bounds, lo, hi, dom, C, { sign: full(sign) }, 20);
      const alphaOnly = batchSplitOutputBounds(net, bounds, lo, hi, dom, C, { sign: full(sign.map((s) => new Int8Array(s.length))) }, 20);
      // A random warm start, evaluated as is (one step), is sound too.
      const rand = (q: number, f: () => number) => Float64Array.from({ length: rows * net.layers[q]!.nOut }, f);
      const warm = batchSplitOutputBounds(net, bounds, lo, hi, dom, C, {
        sign: full(sign),
        alpha: net.layers.map((L, q) => (L.relu ? rand(q, () => rng.next()) : null)),
        beta: net.layers.map((L, q) => (L.relu ? rand(q, () => 2 * rng.next()) : null)),
      }, 1);
      for (let r = 0; r < rows; r++) if (withBeta.lower[r]! > alphaOnly.lower[r]! + 1e-9) betaGained++;
      for (let s = 0; s < 4000; s++) {
        const x = Array.from({ length: d }, (_, i) => (s % 3 ? rng.uniform(lo[i]!, hi[i]!) : rng.next() < 0.5 ? lo[i]! : hi[i]!));
        const z = preActivations(net, x);
        if (!reluLayers.every((q, li) => sign[li]!.every((sg, j) => sg === 0 || sg * z[q]![j]! >= 0))) continue;
        kept++;
        for (const q of reluLayers) {
          for (let j = 0; j < net.layers[q]!.nOut; j++) {
            const v = z[q]![j]!;
            assert.ok(v >= bounds.lo[q]![j]! && v <= bounds.hi[q]![j]!, `layer ${q} neuron ${j}: ${v} outside [${bounds.lo[q]![j]}, ${bounds.hi[q]![j]}]`);
          }
        }
        const y = z[z.length - 1]!;
        for (let r = 0; r < rows; r++) {
          const cy = (r % 2 ? -1 : 1) * y[r]!;
          for (const [what, o] of [['alpha/beta', withBeta], ['alpha only', alphaOnly], ['random warm start', warm]] as const) {
            assert.ok(cy >= o.lower[r]!, `${what} row ${r}: ${cy} below ${o.lower[r]} (trial ${trial})`);
          }
        }
      }
    }
  }
  assert.ok(kept > 2000, `only ${kept} sampled points satisfied the splits`);
  assert.ok(betaGained > 0, 'beta-CROWN tightens some split row (else the multipliers are not exercised)');
});

test('threads: a batch split over worker threads (dense-pool.ts) gives the bounds one thread gives, bit for bit', async () => {
  const net = toDense(lowerNetwork(upgradeOpset(acasModel('2_1'))))!;
  const rng = new Rng(23);
  const d = net.numInputs;
  const P = reluCount(net);
  const k = net.numOutputs;
  const box = parseVnnlib(acasProp(1)).disjuncts[0]!;
  const B = 23;
  const boxLo = new Float64Array(B * d);
  const boxHi = new Float64Array(B * d);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < d; i++) {
      const w = (box.hi[i]! - box.lo[i]!) * rng.uniform(0.05, 0.5);
      boxLo[b * d + i] = rng.uniform(box.lo[i]!, box.hi[i]! - w);
      boxHi[b * d + i] = boxLo[b * d + i]! + w;
    }
  }
  // Uneven rows per box (0 to 3, some boxes none) so the parts' row cuts are exercised.
  const dom: number[] = [];
  for (let b = 0; b < B; b++) for (let t = 0; t < b % 4; t++) dom.push(b);
  const C = Float64Array.from({ length: dom.length * k }, () => rng.uniform(-1, 1));
  const parents = new Float64Array(B * 2 * P);
  for (let b = 0; b < B; b++) parents.fill(-Infinity, b * 2 * P, b * 2 * P + P), parents.fill(Infinity, b * 2 * P + P, (b + 1) * 2 * P);
  const job = (crown: boolean, inherited: Float64Array): BoundsJob => ({ B, boxLo: boxLo.slice(), boxHi: boxHi.slice(), inherited: inherited.slice(), crown, dom: Int32Array.from(dom), C: C.slice() });
  // Round 0 from no parents (CROWN), round 1 inheriting round 0's bounds (cheap pass and CROWN).
  const root = boundsOfBatch(net, job(true, parents)).inherited;
  for (const threads of [2, 3]) {
    const pool = new DensePool(net, threads);
    try {
      assert.equal(pool.threads, threads);
      for (const [crown, inherited] of [[true, parents], [false, root], [true, root]] as const) {
        const one = boundsOfBatch(net, job(crown, inherited));
        const many = await pool.run(job(crown, inherited));
        for (const key of ['inherited', 'lower', 'inputCoef'] as const) {
          assert.equal(many[key].length, one[key].length);
          assert.ok(one[key].some((v) => Number.isFinite(v) && v !== 0), `${key} holds numbers`);
          close(many[key], one[key], 0, `${threads} threads, crown ${crown}: ${key}`);
        }
      }
    } finally {
      await pool.close();
    }
  }
});

test('ACAS Xu 1_1 prop_1 holds (published verdict), and the test\'s own sampling finds no violation', async () => {
  const text = acasProp(1);
  const r = await runSafety(acasModel('1_1'), { vnnlib: text, timeout: 60 });
  const c = r.checks[0]!;
  assert.equal(r.status, 'holds', JSON.stringify({ ...c, counterexample: undefined }));
  assert.equal(c.method, 'branch-and-bound');
  assert.ok(c.domains > 1 && c.domainsPerSecond !== null && c.domainsPerSecond > 0);
  assert.ok(c.lowerBound! > c.margin!, 'the proven bound clears the margin');
  // Two threads: the same search (bounds equal bit for bit), so the same domains and bound.
  const two = (await runSafety(acasModel('1_1'), { vnnlib: text, timeout: 60, threads: 2 })).checks[0]!;
  assert.equal(two.status, 'holds');
  assert.equal(two.domains, c.domains);
  assert.equal(two.lowerBound, c.lowerBound);
  const net = lowerNetwork(upgradeOpset(acasModel('1_1')));
  const d = parseVnnlib(text).disjuncts[0]!;
  const rng = new Rng(5);
  for (let s = 0; s < 3000; s++) {
    const x = d.lo.map((l, i) => rng.uniform(l, d.hi[i]!));
    assert.ok(!satisfiesAll(d, forward(net, x)), 'a sampled point violates a property the verifier proved');
  }
});

test('ACAS Xu 2_1 prop_2 is violated; a fresh ORT session confirms the counterexample; the result file carries it', async () => {
  const ir = acasModel('2_1');
  const text = acasProp(2);
  const r = await runSafety(ir, { vnnlib: text, timeout: 30 });
  assert.equal(r.status, 'violated');
  const cex = r.checks[0]!.counterexample!;
  const d = parseVnnlib(text).disjuncts[cex.disjunct!]!;
  cex.input.forEach((v, i) => assert.ok(v >= d.lo[i]! && v <= d.hi[i]!, `X_${i} inside the box`));
  const y = await freshForward(ir, cex.input, [1, 1, 1, 5], readTestData(`${ACAS}/ACASXU_run2a_2_1_batch_2000.onnx`));
  assert.ok(satisfiesAll(d, y), 'the fresh session output lies in the unsafe set');
  // VNN-COMP file: sat, then one (X_i v) / (Y_j v) a line, reading back to the same numbers.
  const lines = vnncompResultText(r).trim().split('\n');
  assert.equal(lines[0], 'sat');
  assert.equal(lines.length, 1 + 5 + 5);
  const values = lines.slice(1).map((l) => /^\(?\((X|Y)_(\d+) ([^\s)]+)\)\)?$/.exec(l)!);
  assert.ok(lines[1]!.startsWith('((X_0 ') && lines[10]!.startsWith('(Y_4 ') && lines[10]!.endsWith('))'));
  values.slice(0, 5).forEach((m, i) => assert.equal(Number(m[3]), cex.input[i]));
  values.slice(5).forEach((m, j) => assert.equal(Number(m[3]), cex.output[j]));
});

test('VNN-COMP verdict words, score, and the instance list', () => {
  const base = { checks: [{ counterexample: null }], boundsIssue: null } as unknown as Parameters<typeof vnncompResultText>[0];
  assert.equal(vnncompResultText({ ...base, status: 'holds' }), 'unsat\n');
  assert.equal(vnncompResultText({ ...base, status: 'unknown' }), 'timeout\n');
  assert.equal(vnncompResultText({ ...base, status: 'unknown', boundsIssue: 'Conv3D' }), 'unknown\n');
  assert.equal(vnncompScore('unsat', 'unsat'), 10);
  assert.equal(vnncompScore('sat', 'unsat'), -150);
  assert.equal(vnncompScore('timeout', 'sat'), 0);
  const list = readInstances(testData(`${ACAS}/acasxu_instances.csv`));
  assert.equal(list.length, 186);
  assert.ok(list.every((i) => i.timeout > 0 && i.onnx.endsWith('.onnx') && i.vnnlib.endsWith('.vnnlib')));
  // The mnistfc list names 256x2, 256x4 and 256x6; only 256x2 is in test/data.
  assert.equal(readInstances(testData('vnncomp2021/mnistfc/mnistfc_instances.csv')).filter((i) => i.onnx.endsWith('mnist-net_256x2.onnx')).length, 30);
});

test('dense PGD: finds the 2_1 prop_2 violation (a fresh ORT session agrees), nothing on 1_1 prop_1 (holds)', async () => {
  for (const [name, p, violated] of [['2_1', 2, true], ['1_1', 1, false]] as const) {
    const ir = acasModel(name);
    const bytes = readTestData(`${ACAS}/ACASXU_run2a_${name}_batch_2000.onnx`);
    const net = toDense(lowerNetwork(upgradeOpset(ir)))!;
    const runner = await ModelRunner.create(ir, bytes, { gradients: false });
    const d = parseVnnlib(acasProp(p)).disjuncts[0]!;
    const state = newSearchState(1);
    const cex = await attackDense(net, runner, d, 0, state, { deadline: Date.now() + 20_000, seed: 1, starts: violated ? 100_000 : 200 });
    if (!violated) {
      assert.equal(cex, null);
      assert.ok(state.best[0]! > 0, `best score ${state.best[0]}`);
      continue;
    }
    assert.ok(cex, 'a counterexample within 20 s');
    cex.input.forEach((v, i) => assert.ok(v >= d.lo[i]! && v <= d.hi[i]!, `X_${i} inside the box`));
    assert.ok(satisfiesAll(d, await freshForward(ir, Array.from(cex.input), [1, 1, 1, 5], bytes)), 'the fresh session output lies in the unsafe set');
  }
});
