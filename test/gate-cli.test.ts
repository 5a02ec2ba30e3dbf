/**
 * `onnxscope gate` as CI runs it: a real process, fixture models whose numbers are known by
 * hand (test/helpers/gate-fixtures.ts), the shared SQLite cache, and the report files.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { openStore } from '../storage/store.js';
import { writeNpz } from '../datasets/npz.js';
import { serializeModel } from '../native/onnx/ir.js';
import { tensor } from '../native/onnx/tensor.js';
import { tinyModel } from './helpers/tiny-models.js';
import type { GateReport } from '../gate/run.js';
import { runCli } from './helpers/cli.js';
import { CLASSES, FEATURES, FLIPPED, PERMUTED_W, SAMPLES, W, accuracyOf, gateDataset, writeGateFixtures } from './helpers/gate-fixtures.js';

const fx = writeGateFixtures();
after(() => rmSync(fx.dir, { recursive: true, force: true }));

function config(name: string, text: string): string {
  const file = path.join(fx.dir, name);
  writeFileSync(file, text);
  return file;
}

async function gate(configFile: string, extra: string[], dataDir: string) {
  const out = path.join(fx.dir, `${path.basename(configFile, '.yml')}-${extra.join('').replace(/\W/g, '').slice(-12)}`);
  const files = { junit: `${out}.junit.xml`, markdown: `${out}.md`, report: `${out}.json` };
  for (const f of Object.values(files)) rmSync(f, { force: true });
  const run = await runCli(['gate', '--config', configFile, '--data-dir', path.join(fx.dir, dataDir), '--junit', files.junit, '--markdown', files.markdown, '--report', files.report, ...extra]);
  const report = existsSync(files.report) ? (JSON.parse(readFileSync(files.report, 'utf8')) as GateReport) : null;
  return { ...run, files, report };
}

const ruleNamed = (report: GateReport, name: string) => report.rules.find((r) => r.name === name)!;

function parseJunit(file: string) {
  const xml = readFileSync(file, 'utf8');
  assert.equal(XMLValidator.validate(xml), true, 'well-formed XML');
  // Counted without the library that wrote the file, too.
  const count = (tag: string) => xml.match(new RegExp(`<${tag}[ >/]`, 'g'))?.length ?? 0;
  const top = /<testsuites [^>]*tests="(\d+)" failures="(\d+)" errors="(\d+)"/.exec(xml);
  assert.deepEqual(top?.slice(1).map(Number), [count('testcase'), count('failure'), count('error')], 'the counts match the elements');
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => name === 'testcase' || name === 'property' }).parse(xml);
  return doc.testsuites as {
    tests: string;
    failures: string;
    errors: string;
    testsuite: { tests: string; failures: string; errors: string; testcase: Array<{ name: string; failure?: { message: string }; error?: { message: string } }> };
  };
}

const PASSING = `
model: good.onnx
data: data.npz
analyses:
  hessian:
    params: { topK: 2 }
rules:
  - evaluate.accuracy >= 0.8
  - evaluate.count == ${SAMPLES}
  - hessian.topEigenvalues[0] <= 50
  - rule: hessian.trace < 10
    name: flat enough
`;

test('a passing gate exits 0 with every report, and a second run is answered from the cache without a job', async () => {
  const file = config('pass.yml', PASSING);
  const first = await gate(file, [], 'cache');
  assert.equal(first.code, 0, first.stderr);
  const report = first.report!;
  assert.equal(report.passed, true);
  assert.deepEqual(report.counts, { rules: 4, passed: 4, failed: 0, errors: 0, warnings: 0, analyses: 2, cached: 0 });
  // The observed accuracy is the one worked out by hand from W and the labels.
  assert.equal(ruleNamed(report, 'evaluate.accuracy >= 0.8').observed, (SAMPLES - FLIPPED) / SAMPLES);
  assert.equal(accuracyOf(W), (SAMPLES - FLIPPED) / SAMPLES);
  assert.equal(ruleNamed(report, 'flat enough').field, 'trace.estimate');

  assert.match(first.stdout, /^STATUS\s+RULE\s+OBSERVED\s+THRESHOLD$/m);
  assert.match(first.stdout, /^pass\s+evaluate\.accuracy >= 0\.8\s+0\.833333\s+>= 0\.8$/m);
  assert.match(first.stdout, /PASSED: 4 of 4 rules passed/);
  const junit = parseJunit(first.files.junit);
  assert.deepEqual([junit.tests, junit.failures, junit.errors], ['4', '0', '0']);
  assert.deepEqual(junit.testsuite.testcase.map((t) => t.name), report.rules.map((r) => r.name));
  const md = readFileSync(first.files.markdown, 'utf8');
  assert.match(md, /### ✅ onnxscope gate passed: 4 of 4 rules passed/);
  assert.match(md, /\| ✅ \| `evaluate.accuracy >= 0.8` \| 0.833333 \| >= 0.8 \|/);

  const jobs = async () => {
    const store = await openStore(path.join(fx.dir, 'cache'));
    try {
      return (await store.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM analyses WHERE cached = 0'))!.n;
    } finally {
      await store.close();
    }
  };
  const jobsBefore = await jobs();
  assert.equal(jobsBefore, 2);
  const second = await gate(file, [], 'cache');
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(second.report!.counts, { ...report.counts, cached: 2 });
  assert.ok(second.report!.analyses.every((a) => a.cached));
  assert.equal(await jobs(), jobsBefore, 'no analysis job ran the second time');
  assert.deepEqual(second.report!.rules.map((r) => r.observed), report.rules.map((r) => r.observed));
  assert.match(second.stdout, /2 analyses \(2 from the cache\)/);
});

test('a failing gate exits 1; the JUnit file counts its failures and errors', async () => {
  const file = config('fail.yml', `${PASSING}  - hessian.topEigenvalues[0] <= 0\n  - hessian.topEigenvalues[5] > 0\n`);
  const run = await gate(file, ['--model', fx.permuted], 'cache');
  assert.equal(run.code, 1, run.stderr);
  const report = run.report!;
  assert.equal(report.passed, false);
  assert.deepEqual(report.counts, { rules: 6, passed: 3, failed: 2, errors: 1, warnings: 0, analyses: 2, cached: 0 });
  const accuracy = ruleNamed(report, 'evaluate.accuracy >= 0.8');
  assert.equal(accuracy.status, 'fail');
  assert.equal(accuracy.observed, accuracyOf(PERMUTED_W));
  assert.equal(ruleNamed(report, 'hessian.topEigenvalues[0] <= 0').status, 'fail');
  const beyond = ruleNamed(report, 'hessian.topEigenvalues[5] > 0');
  assert.equal(beyond.status, 'error', 'topK is 2: there is no sixth eigenvalue');
  assert.match(beyond.message, /has no value for topEigenvalues\[5\]\.value/);

  const junit = parseJunit(run.files.junit);
  assert.deepEqual([junit.tests, junit.failures, junit.errors], ['6', '2', '1']);
  assert.deepEqual([junit.testsuite.tests, junit.testsuite.failures, junit.testsuite.errors], ['6', '2', '1']);
  const failed = junit.testsuite.testcase.filter((t) => t.failure).map((t) => t.name);
  assert.deepEqual(failed, ['evaluate.accuracy >= 0.8', 'hessian.topEigenvalues[0] <= 0']);
  assert.deepEqual(junit.testsuite.testcase.filter((t) => t.error).map((t) => t.name), ['hessian.topEigenvalues[5] > 0']);
  assert.match(run.stdout, /^FAIL\s+evaluate\.accuracy >= 0\.8\s+0\s+>= 0\.8$/m);
  assert.match(run.stdout, /FAILED: 3 of 6 rules passed, 2 failed, 1 errors/);
  assert.match(readFileSync(run.files.markdown, 'utf8'), /### ❌ onnxscope gate failed/);
});

const REGRESSION = `
model: good.onnx
data: data.npz
baseline: good.onnx
analyses:
  hessian:
    params: { topK: 1 }
rules:
  - hessian.trace <= baseline * 1.1
  - hessian.topEigenvalues[0] <= baseline * 1.1
  - evaluate.accuracy >= baseline
  - evaluate.loss <= baseline + 1e-5
`;

test('baseline rules trip when the candidate is sharper: (3x)(W/3) has 9 times the curvature', async () => {
  const file = config('regression.yml', REGRESSION);
  const control = await gate(file, [], 'regression');
  assert.equal(control.code, 0, `the unchanged model passes: ${control.stdout}${control.stderr}`);

  const run = await gate(file, ['--model', fx.sharper], 'regression');
  assert.equal(run.code, 1, run.stderr);
  const report = run.report!;
  assert.equal(report.baseline!.sha256, control.report!.model.sha256);
  for (const name of ['hessian.trace <= baseline * 1.1', 'hessian.topEigenvalues[0] <= baseline * 1.1']) {
    const r = ruleNamed(report, name);
    assert.equal(r.status, 'fail', name);
    // Same function, inputs scaled by 3 inside the model: the weight Hessian is 9 H.
    assert.ok(Math.abs((r.observed as number) / (r.baseline as number) - 9) < 1e-4, `${name}: ${String(r.observed)} / ${String(r.baseline)}`);
    assert.ok(Math.abs((r.threshold as number) - 1.1 * (r.baseline as number)) < 1e-12);
  }
  // ... while predictions, and so accuracy and loss, are unchanged.
  assert.equal(ruleNamed(report, 'evaluate.accuracy >= baseline').status, 'pass');
  assert.equal(ruleNamed(report, 'evaluate.loss <= baseline + 1e-5').status, 'pass');
  assert.ok(report.analyses.filter((a) => a.role === 'baseline').every((a) => a.cached), 'the baseline was analyzed by the control run');
  const junit = parseJunit(run.files.junit);
  assert.equal(junit.failures, '2');
});

/**
 * For logits x W, the L-inf ball of radius eps around x keeps class c iff for every j != c
 * (w_c - w_j) . x > eps * ||w_c - w_j||_1: the exact robustness radius is the smallest ratio.
 */
function robustnessRadius(x: Float32Array, n: number, c: number): number {
  let radius = Infinity;
  for (let j = 0; j < CLASSES; j++) {
    if (j === c) continue;
    let margin = 0;
    let l1 = 0;
    for (let f = 0; f < FEATURES; f++) {
      const d = W[f * CLASSES + c]! - W[f * CLASSES + j]!;
      margin += d * x[n * FEATURES + f]!;
      l1 += Math.abs(d);
    }
    radius = Math.min(radius, margin / l1);
  }
  return radius;
}

/** The same ball as a VNNLIB property: unsafe when some other class scores at least as high. */
function ballProperty(x: Float32Array, n: number, c: number, eps: number): string {
  const lines: string[] = [];
  for (let f = 0; f < FEATURES; f++) lines.push(`(declare-const X_${f} Real)`);
  for (let j = 0; j < CLASSES; j++) lines.push(`(declare-const Y_${j} Real)`);
  for (let f = 0; f < FEATURES; f++) {
    lines.push(`(assert (>= X_${f} ${x[n * FEATURES + f]! - eps}))`, `(assert (<= X_${f} ${x[n * FEATURES + f]! + eps}))`);
  }
  const others = Array.from({ length: CLASSES }, (_, j) => j).filter((j) => j !== c);
  lines.push(`(assert (or ${others.map((j) => `(and (>= Y_${j} Y_${c}))`).join(' ')}))`);
  return `${lines.join('\n')}\n`;
}

test('safety.status == holds over eps balls and VNNLIB files matches the exact robustness radius of a linear model', async () => {
  const { x, y } = gateDataset();
  const indices = [FLIPPED, FLIPPED + 1, FLIPPED + 2];
  const radius = Math.min(...indices.map((n) => robustnessRadius(x, n, y[n]!)));
  assert.ok(radius > 0.01 && radius < 1, `radius ${radius}`);
  const below = Number((radius * 0.9).toPrecision(6));
  const above = Number((radius * 1.1).toPrecision(6));
  const first = robustnessRadius(x, FLIPPED, y[FLIPPED]!);
  writeFileSync(path.join(fx.dir, 'inside.vnnlib'), ballProperty(x, FLIPPED, y[FLIPPED]!, first * 0.9));
  writeFileSync(path.join(fx.dir, 'outside.vnnlib'), ballProperty(x, FLIPPED, y[FLIPPED]!, first * 1.1));
  const file = config('safety.yml', `
model: good.onnx
data: data.npz
analyses:
  robust:
    analyzer: safety
    params: { indices: [${indices.join(', ')}], inputRange: [-3, 3], timeout: 20 }
    sweep: { eps: [${below}, ${above}] }
  properties:
    analyzer: safety
    params: { timeout: 20 }
    vnnlib: [inside.vnnlib, outside.vnnlib]
rules:
  - robust.status == holds
  - properties.status != violated
`);
  const run = await gate(file, [], 'safety');
  assert.equal(run.code, 1, run.stderr);
  assert.deepEqual(run.report!.rules.map((r) => [r.name, r.status, r.observed]), [
    [`robust.status == holds [eps=${below}]`, 'pass', 'holds'],
    [`robust.status == holds [eps=${above}]`, 'fail', 'violated'],
    ['properties.status != violated [inside.vnnlib]', 'pass', 'holds'],
    ['properties.status != violated [outside.vnnlib]', 'fail', 'violated'],
  ]);
  const junit = parseJunit(run.files.junit);
  assert.equal(junit.testsuite.testcase.length, 4, 'one test case per eps ball and per property');
  assert.equal(junit.failures, '2');
});

test('a warn-only rule that breaks is reported, but the gate passes', async () => {
  const file = config('warn.yml', 'model: good.onnx\ndata: data.npz\nrules:\n  - evaluate.accuracy >= 0.8\n  - { rule: evaluate.accuracy >= 0.99, warn: true }\n');
  const run = await gate(file, [], 'warn');
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.report!.counts, { rules: 2, passed: 1, failed: 0, errors: 0, warnings: 1, analyses: 1, cached: 0 });
  const warned = ruleNamed(run.report!, 'evaluate.accuracy >= 0.99');
  assert.equal(warned.status, 'warn');
  assert.match(warned.message, /^failed \(warn only\): accuracy = 0\.833333, expected >= 0\.99$/);
  assert.match(run.stdout, /^WARN\s+evaluate\.accuracy >= 0\.99\s+0\.833333\s+>= 0\.99$/m);
  const junit = parseJunit(run.files.junit);
  assert.deepEqual([junit.tests, junit.failures, junit.errors], ['2', '0', '0']);
  assert.match(readFileSync(run.files.junit, 'utf8'), /<system-err>WARNING: failed \(warn only\)/);
  assert.match(readFileSync(run.files.markdown, 'utf8'), /\| ⚠️ \| `evaluate.accuracy >= 0.99` \|/);
});

test('a NaN result is an error, the same on a first run and from the cache', async () => {
  // log of negative inputs: NaN logits, so a NaN loss.
  const nanModel = path.join(fx.dir, 'nan.onnx');
  writeFileSync(nanModel, serializeModel(tinyModel({
    input: { name: 'x', shape: ['N', FEATURES] },
    output: { name: 'logits', shape: ['N', CLASSES] },
    nodes: [{ op: 'Log', inputs: ['x'], outputs: ['lx'] }, { op: 'MatMul', inputs: ['lx', 'W'], outputs: ['logits'] }],
    initializers: { W: tensor('float32', [FEATURES, CLASSES], W) },
  })));
  const file = config('nan.yml', 'model: nan.onnx\ndata: data.npz\nrules:\n  - evaluate.loss <= 1\n  - evaluate.loss != 0\n');
  const runs = [await gate(file, [], 'nan'), await gate(file, [], 'nan')];
  assert.deepEqual(runs.map((r) => r.report!.counts.cached), [0, 1]);
  for (const run of runs) {
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(run.report!.rules.map((r) => [r.status, r.message]), [
      ['error', 'the evaluate result has no value for loss (absent, or not a finite number)'],
      ['error', 'the evaluate result has no value for loss (absent, or not a finite number)'],
    ]);
  }
});

test('bad configs and inputs exit 2 before any analysis runs; a bad config before anything is stored or written', async () => {
  const file = config('bad.yml', 'model: good.onnx\ndata: data.npz\nrules:\n  - evaluate.accuracy >= 0.8\n  - hessian.trce <= 3\n');
  const run = await gate(file, [], 'never');
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^onnxscope: BAD_CONFIG: .*bad\.yml:5: unknown field: hessian has no field "trce"/m);
  assert.equal(run.stdout, '');
  assert.equal(existsSync(path.join(fx.dir, 'never')), false, 'no data dir was created');
  for (const f of Object.values(run.files)) assert.equal(existsSync(f), false, `${f} was not written`);

  const missing = await gate(config('missing.yml', PASSING.replace('good.onnx', 'nope.onnx')), [], 'never2');
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^onnxscope: BAD_PARAMS: model .*nope\.onnx: no such file$/m);
  assert.equal(missing.report, null);

  writeFileSync(path.join(fx.dir, 'garbage.onnx'), 'not a protobuf at all');
  const garbage = await gate(config('garbage.yml', PASSING), ['--model', path.join(fx.dir, 'garbage.onnx')], 'never4');
  assert.equal(garbage.code, 2);
  assert.match(garbage.stderr, /^onnxscope: BAD_MODEL: /m);

  // Seven features where the model takes four: refused when the analyses are checked, before any runs.
  const wide = path.join(fx.dir, 'wide.npz');
  writeFileSync(wide, writeNpz({ x: { dtype: 'f4', shape: [5, 7], data: new Float32Array(35) }, y: { dtype: 'i8', shape: [5], data: new BigInt64Array(5) } }));
  const mismatch = await gate(config('pass.yml', PASSING), ['--data', wide], 'never5');
  assert.equal(mismatch.code, 2, mismatch.stderr);
  assert.match(mismatch.stderr, /^onnxscope: (DATASET_MISMATCH|BAD_DATASET): analyses\.hessian \(candidate\): /m);
  assert.equal(mismatch.report, null);

  const noConfig = await gate(path.join(fx.dir, 'absent.yml'), [], 'never3');
  assert.equal(noConfig.code, 2);
  assert.match(noConfig.stderr, /BAD_CONFIG: --config .*absent\.yml: no such file/);
});
