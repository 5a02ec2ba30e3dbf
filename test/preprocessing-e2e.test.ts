/**
 * Issue 18's done-criterion, end to end: the real MNIST CSV (pixels 0..255) with scale 1/255 on
 * the real mnistfc network gives the same accuracy, loss and Hessian top eigenvalue as the same
 * pixels divided by 255 here and saved as an npz, through the CLI and through GraphQL upload.
 * Without the scale the result and the CLI's stderr carry a warning naming the observed and
 * expected ranges, and a gate rule on warnings fails the build. A model declaring its
 * preprocessing in metadata_props gets it applied to raw data, and the result says so.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeNpz } from '../datasets/npz.js';
import { loadModel } from '../native/onnx/load.js';
import { serializeModel } from '../native/onnx/ir.js';
import { runCli, type CliRun } from './helpers/cli.js';
import { removeDir, startTestService, type TestService } from './helpers/serviceHarness.js';
import { testData } from './helpers/test-data.js';

const MNISTFC = testData('vnncomp2021/mnistfc/mnist-net_256x2.onnx');
const CSV = testData('eran/mnist_test.csv');
const HESSIAN = ['--param', 'compute=top', '--param', 'topK=1'];
const TOL = 1e-9;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-prep-'));
const dataDir = path.join(tmp, 'cache');
const npzFile = path.join(tmp, 'mnist_scaled.npz');

/** The CSV parsed by a plain split and divided by 255 in float32, as a user would in numpy. */
function scaledNpz(): Uint8Array {
  const rows = readFileSync(CSV, 'utf8').trim().split('\n');
  const x = new Float32Array(rows.length * 784);
  const y = new Int32Array(rows.length);
  rows.forEach((row, i) => {
    const v = row.split(',').map(Number);
    y[i] = v[0]!;
    for (let j = 0; j < 784; j++) x[i * 784 + j] = Math.fround(v[j + 1]!) / 255;
  });
  return writeNpz({ x: { dtype: 'f4', shape: [rows.length, 784], data: x }, y: { dtype: 'i4', shape: [rows.length], data: y } });
}

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= TOL, `${what}: ${a} vs ${b}`);

async function analyze(args: string[]): Promise<{ run: CliRun; result: Record<string, any> }> {
  const run = await runCli(['analyze', ...args, '--json', '--data-dir', dataDir]);
  assert.equal(run.code, 0, run.stderr);
  return { run, result: JSON.parse(run.stdout).result };
}

let svc: TestService;

before(async () => {
  writeFileSync(npzFile, scaledNpz());
  svc = await startTestService({ workers: 1 });
});
after(async () => {
  await svc.stop();
  removeDir(svc.dataDir);
  rmSync(tmp, { recursive: true, force: true });
});

test('CLI: --data mnist_test.csv --scale 1/255 equals the pre-scaled npz (accuracy, loss, Hessian top eigenvalue)', async () => {
  const csvEval = await analyze(['evaluate', '--model', MNISTFC, '--data', CSV, '--scale', '1/255']);
  const npzEval = await analyze(['evaluate', '--model', MNISTFC, '--data', npzFile]);
  assert.equal(csvEval.result.accuracy, npzEval.result.accuracy);
  assert.ok(csvEval.result.accuracy >= 0.9, `mnistfc on [0, 1] pixels: accuracy ${csvEval.result.accuracy}`);
  close(csvEval.result.loss, npzEval.result.loss, 'loss');
  assert.deepEqual(csvEval.result.warnings, []);
  assert.equal(csvEval.result.warningCount, 0);
  assert.equal(csvEval.result.inputCheck.preprocessingSource, 'dataset');
  assert.equal(csvEval.result.inputCheck.observedMax, 1);
  assert.equal(npzEval.result.inputCheck.preprocessingSource, 'none');
  assert.doesNotMatch(csvEval.run.stderr, /warning: evaluate/);

  const csvHess = await analyze(['hessian', '--model', MNISTFC, '--data', CSV, '--scale', '1/255', ...HESSIAN]);
  const npzHess = await analyze(['hessian', '--model', MNISTFC, '--data', npzFile, ...HESSIAN]);
  close(csvHess.result.topEigenvalues[0].value, npzHess.result.topEigenvalues[0].value, 'top eigenvalue');
  close(csvHess.result.loss, npzHess.result.loss, 'hessian loss');
});

test('CLI: without the scale the result and stderr name the observed and expected ranges; --preprocess reads a spec file', async () => {
  const raw = await analyze(['evaluate', '--model', MNISTFC, '--data', CSV]);
  assert.equal(raw.result.warningCount, 1);
  assert.match(raw.result.warnings[0], /input values span \[0, 255\] but the model expects about \[-1, 1\]/);
  assert.match(raw.run.stderr, /warning: evaluate: input values span \[0, 255\] but the model expects about \[-1, 1\].*--scale 1\/255/);
  assert.ok(raw.result.accuracy < 0.9, `raw pixels: accuracy ${raw.result.accuracy}`);

  const spec = path.join(tmp, 'spec.json');
  writeFileSync(spec, JSON.stringify({ scale: '1/255', expectedRange: [0, 1] }));
  const fromFile = await analyze(['evaluate', '--model', MNISTFC, '--data', CSV, '--preprocess', spec]);
  assert.equal(fromFile.result.warningCount, 0);
  assert.equal(fromFile.result.inputCheck.expectedFrom, 'the dataset preprocessing expectedRange');
  const bad = await runCli(['analyze', 'evaluate', '--model', MNISTFC, '--data', CSV, '--scale', 'x', '--data-dir', dataDir]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--scale.*expected a finite number/);
});

test('gate: a rule on warningCount fails the build on unscaled data and passes with preprocessing', async () => {
  const config = (extra: string) => {
    const file = path.join(tmp, `gate-${extra ? 'scaled' : 'raw'}.yml`);
    writeFileSync(file, `model: ${MNISTFC}\ndata: ${CSV}\n${extra}rules:\n  - evaluate.warningCount == 0\n  - evaluate.accuracy >= 0.5\n`);
    return file;
  };
  const raw = await runCli(['gate', '--config', config(''), '--data-dir', dataDir, '--json']);
  assert.equal(raw.code, 1, raw.stderr);
  const report = JSON.parse(raw.stdout);
  assert.equal(report.passed, false);
  assert.match(report.analyses[0].warnings[0], /input values span \[0, 255\]/);
  assert.match(raw.stderr, /warning: evaluate: input values span \[0, 255\] but the model expects about \[-1, 1\]/);
  const scaled = await runCli(['gate', '--config', config('preprocessing: { scale: 1/255 }\n'), '--data-dir', dataDir]);
  assert.equal(scaled.code, 0, scaled.stdout + scaled.stderr);
  const flag = await runCli(['gate', '--config', config(''), '--scale', '1/255', '--data-dir', dataDir]);
  assert.equal(flag.code, 0, flag.stdout + flag.stderr);
  const typo = await runCli(['gate', '--config', config('preprocessing: { scael: 1 }\n'), '--data-dir', dataDir]);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown key scael/);
});

test('CLI: a model declaring onnxscope.preprocessing gets it applied to raw data, and the result says so', async () => {
  const declared = path.join(tmp, 'mnistfc-declared.onnx');
  const m = loadModel(readFileSync(MNISTFC));
  writeFileSync(declared, serializeModel({ ...m, metadata: { 'onnxscope.preprocessing': '{"scale": "1/255"}', 'onnxscope.input_range': '0,1' } }));
  const byModel = await analyze(['evaluate', '--model', declared, '--data', CSV]);
  const byNpz = await analyze(['evaluate', '--model', MNISTFC, '--data', npzFile]);
  assert.equal(byModel.result.inputCheck.preprocessingSource, 'model');
  assert.equal(byModel.result.inputCheck.expectedFrom, 'the model metadata (onnxscope.input_range)');
  assert.equal(byModel.result.accuracy, byNpz.result.accuracy);
  close(byModel.result.loss, byNpz.result.loss, 'loss');
  assert.equal(byModel.result.warningCount, 0);
});

const UPLOAD_MODEL = `mutation($file: Upload!) { uploadModel(file: $file) { id } }`;
const UPLOAD_DATASET = `mutation($file: Upload!, $modelId: ID, $preprocessing: PreprocessingInput) {
  uploadDataset(file: $file, modelId: $modelId, preprocessing: $preprocessing) {
    id sha256 fileSha256 count sampleShape dtype valueRange rawValueRange labelHistogram
    preprocessing { scale mean std resize { size mode } }
  }
}`;
const RUN = `mutation($input: RunAnalysisInput!) { runAnalysis(input: $input) { id } }`;
const RESULT = `query($id: ID!) { analysis(id: $id) { status error { message }
  result { ... on EvaluateResult { accuracy loss warnings warningCount inputCheck { observedMin observedMax expectedMin expectedMax preprocessingSource } }
           ... on HessianResult { topEigenvalues { value } warningCount } } } }`;

test('GraphQL: uploadDataset with preprocessing equals the pre-scaled npz; the Dataset shows what the model will see', async () => {
  const modelId = (await svc.upload(UPLOAD_MODEL, {}, { bytes: readFileSync(MNISTFC), filename: 'mnistfc.onnx' })).body.data!.uploadModel.id;
  const upload = async (file: string, preprocessing: unknown) => {
    const r = await svc.upload(UPLOAD_DATASET, { modelId, preprocessing }, { bytes: readFileSync(file), filename: path.basename(file) });
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
    return r.body.data!.uploadDataset;
  };
  const csv = await upload(CSV, { scale: 1 / 255 });
  const raw = await upload(CSV, null);
  const npz = await upload(npzFile, null);

  // What a dashboard shows, against the file read here.
  const labels = readFileSync(CSV, 'utf8').trim().split('\n').map((l) => Number(l.split(',')[0]));
  const histogram = new Array<number>(10).fill(0);
  for (const l of labels) histogram[l]!++;
  assert.deepEqual(csv.labelHistogram, histogram);
  assert.deepEqual(csv.valueRange, [0, 1]);
  assert.deepEqual(csv.rawValueRange, [0, 255]);
  assert.deepEqual(raw.valueRange, [0, 255]);
  assert.equal(csv.dtype, 'float32');
  assert.deepEqual(csv.sampleShape, [784]);
  assert.deepEqual(csv.preprocessing, { scale: 1 / 255, mean: null, std: null, resize: null });
  assert.equal(raw.preprocessing, null);
  assert.equal(csv.fileSha256, raw.fileSha256, 'one file');
  assert.equal(raw.sha256, raw.fileSha256);
  assert.notEqual(csv.sha256, raw.sha256, 'two datasets: the preprocessing is part of the identity');
  assert.equal((await svc.footprint()).blobs, 3, 'the CSV is stored once (plus the model and the npz)');

  const run = async (datasetId: string, analyzer: string, params: Record<string, unknown> = {}) => {
    const r = await svc.gql(RUN, { input: { modelId, datasetId, analyzer, params } });
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
    const id = r.body.data!.runAnalysis.id;
    const done = await svc.waitFor(id, 120_000);
    assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done.error));
    return (await svc.gql(RESULT, { id })).body.data!.analysis.result;
  };
  const [e1, e2, e3] = [await run(csv.id, 'evaluate'), await run(npz.id, 'evaluate'), await run(raw.id, 'evaluate')];
  assert.equal(e1.accuracy, e2.accuracy);
  close(e1.loss, e2.loss, 'loss');
  assert.deepEqual(e1.warnings, []);
  assert.equal(e3.warningCount, 1);
  assert.match(e3.warnings[0], /span \[0, 255\] but the model expects about \[-1, 1\]/);
  assert.deepEqual(e3.inputCheck, { observedMin: 0, observedMax: 255, expectedMin: -1, expectedMax: 1, preprocessingSource: 'none' });
  const hessian = { compute: ['top'], topK: 1 };
  const [h1, h2] = [await run(csv.id, 'hessian', hessian), await run(npz.id, 'hessian', hessian)];
  close(h1.topEigenvalues[0].value, h2.topEigenvalues[0].value, 'top eigenvalue');
  assert.equal(h1.warningCount, 0);

  // Refusals at the door.
  const nan = writeNpz({ x: { dtype: 'f4', shape: [2, 784], data: new Float32Array(1568).fill(0.5).fill(NaN, 900, 901) } });
  const refused = await svc.upload(UPLOAD_DATASET, {}, { bytes: nan, filename: 'nan.npz' });
  assert.equal(refused.body.errors?.[0]?.extensions?.code, 'BAD_DATASET');
  assert.match(refused.body.errors![0]!.message, /x\[900\] is NaN \(sample 1, element 116\)/);
  const typo = await svc.upload(UPLOAD_DATASET, { preprocessing: { scale: 1, layout: 'CHW' } }, { bytes: readFileSync(CSV), filename: 'm.csv' });
  assert.equal(typo.body.errors?.[0]?.extensions?.code, 'BAD_PARAMS');
  const labels11 = writeNpz({ x: { dtype: 'f4', shape: [2, 784], data: new Float32Array(1568) }, y: { dtype: 'i4', shape: [2], data: Int32Array.of(3, 11) } });
  const outOfRange = await svc.upload(UPLOAD_DATASET, { modelId }, { bytes: labels11, filename: 'l.npz' });
  assert.equal(outOfRange.body.errors?.[0]?.extensions?.code, 'BAD_DATASET');
  assert.match(outOfRange.body.errors![0]!.message, /y\[1\] = 11 is not a class index in 0\.\.9/);
});
