/**
 * Zoos end to end, embedded (the CLI's path): a zoo of 8 MLPs trained here by the autodiff
 * (widths x batch sizes x 2 seeds), created from a manifest, analyzed in a batch that is
 * interrupted and resumed in a fresh process state without recomputing finished items; then every
 * model has its metrics (training loss checked against a JavaScript forward pass) and a phase label.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../service/config.js';
import { openLocalServices, type LocalServices } from '../service/local.js';
import { seedPairs, type ZooService } from '../service/zooService.js';
import { labelPhase, emptyMetrics, DEFAULT_THRESHOLDS } from '../service/zooPhases.js';
import { parseManifest } from '../service/zooManifest.js';
import { readZooArchive } from '../service/zooArchive.js';
import { strToU8, zipSync } from 'fflate';
import type { AppError } from '../common/errors.js';
import { loadModel } from '../native/onnx/load.js';
import { blobs, writeMlpZoo, type ZooFixture } from './helpers/mlpZoo.js';

let dir: string;
let fixture: ZooFixture;

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-zoo-'));
  fixture = await writeMlpZoo(path.join(dir, 'zoo'), { widths: [2, 8], batchSizes: [4, 32], seeds: [1, 2], steps: 40 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const PARAMS = {
  hessian: { compute: ['top', 'trace'], maxIter: 20, maxProbes: 30, traceTol: 0.05 },
  landscape: { points: 5, curveEpochs: 2, batchSize: 32 },
};

async function open(): Promise<{ services: LocalServices; zoos: ZooService }> {
  const services = await openLocalServices(loadConfig({ dataDir: path.join(dir, 'data') }));
  return { services, zoos: services.zoos };
}

async function ingestData(services: LocalServices, file: string) {
  return services.datasets.ingest({ bytes: new Uint8Array(readFileSync(file)), filename: path.basename(file) });
}

/** Mean cross-entropy of the stored MLP on the CSV set, by a float64 forward pass from its initializers. */
function jsLoss(bytes: Uint8Array, data: ReturnType<typeof blobs>): number {
  const g = loadModel(bytes).graph;
  const t = (n: string) => Array.from(g.initializers.get(n)!.data as Float32Array);
  const [W1, b1, W2, b2] = ['W1', 'b1', 'W2', 'b2'].map(t) as [number[], number[], number[], number[]];
  const width = b1.length;
  let sum = 0;
  data.x.forEach((x, i) => {
    const a = b1.map((b, j) => Math.max(0, b + x.reduce((s, v, k) => s + v * W1[j * 4 + k]!, 0)));
    const z = b2.map((b, c) => b + a.reduce((s, v, j) => s + v * W2[c * width + j]!, 0));
    const m = Math.max(...z);
    sum += m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0)) - z[data.y[i]!]!;
  });
  return sum / data.x.length;
}

test('zoo: create from a manifest, batch-analyze with an interruption, resume without recomputing, metrics and phases for every model', async () => {
  let { services, zoos } = await open();
  const manifestText = readFileSync(fixture.manifest, 'utf8');
  const zoo = await zoos.createZoo({
    manifest: { text: manifestText, filename: 'manifest.json' },
    readFile: async (f) => new Uint8Array(readFileSync(path.join(fixture.dir, f))),
  });
  assert.equal(zoo.name, 'mlp-zoo');
  assert.deepEqual(zoo.axes, { load: 'width', temperature: 'batchSize' });
  const members = await zoos.members(zoo.id);
  assert.equal(members.length, 8);
  assert.equal(seedPairs(members).length, 4, 'one seed pair per (width, batch size)');
  const train = await ingestData(services, fixture.train);
  const testSet = await ingestData(services, fixture.test);
  const input = { zooId: zoo.id, analyzers: ['evaluate', 'hessian', 'landscape'], params: PARAMS, datasetId: train.id, testDatasetId: testSet.id, concurrency: 2 };
  const run = await zoos.startRun(input);
  const controller = new AbortController();
  const seen: string[] = [];
  const first = await zoos.runEmbedded(run.id, (p) => {
    seen.push(p.text);
    if (p.done >= 6) controller.abort();
  }, controller.signal);
  assert.ok(first.done >= 6 && first.done < first.total, `interrupted part-way: ${first.text}`);
  assert.equal(first.total, 8 * 2 + 8 + 4, 'evaluate train+test, hessian per model, landscape per pair');
  assert.ok(seen.includes(`0 of ${first.total}`) && seen.some((s) => s.startsWith('6 of')), seen.join(' | '));
  const finishedBefore = new Map((await zoos.repo.items(run.id, 'SUCCEEDED')).map((i) => [i.seq, i.analysisId]));
  await services.close();

  // A new process: same data dir, same request -> the same unfinished run.
  ({ services, zoos } = await open());
  const resumed = await zoos.startRun(input);
  assert.equal(resumed.id, run.id);
  const final = await zoos.runEmbedded(resumed.id, () => undefined, new AbortController().signal);
  assert.equal(final.done, final.total);
  assert.equal(final.failed, 0, JSON.stringify(await zoos.failures(run.id)));
  assert.equal((await zoos.run(run.id)).status, 'FINISHED');
  const items = await zoos.repo.items(run.id);
  for (const [seq, analysisId] of finishedBefore) assert.equal(items[seq]!.analysisId, analysisId, `item ${seq} was not run again`);
  // Nothing was computed twice: one non-cached analysis per cache key in the whole database.
  const computed = await services.store.db.all<{ cache_key: string; n: number }>(
    `SELECT cache_key, COUNT(*) AS n FROM analyses WHERE cached = 0 AND status = 'SUCCEEDED' GROUP BY cache_key`,
  );
  assert.equal(computed.length, final.total);
  assert.ok(computed.every((r) => r.n === 1));

  const views = await zoos.modelViews(zoo.id);
  assert.equal(views.length, 8);
  const trainData = blobs(60, 1);
  for (const v of views) {
    const m = v.metrics;
    for (const k of ['trainLoss', 'trainAccuracy', 'testLoss', 'testAccuracy', 'hessianTop', 'hessianTrace', 'mc', 'mcLinear', 'barrier', 'cka'] as const) {
      assert.equal(typeof m[k], 'number', `${v.member.file}: ${k}`);
    }
    const bytes = new Uint8Array(readFileSync(path.join(fixture.dir, v.member.file)));
    const expect = jsLoss(bytes, trainData);
    assert.ok(Math.abs(m.trainLoss! - expect) < 1e-5 * Math.max(1, expect), `${v.member.file}: ${m.trainLoss} vs ${expect}`);
    assert.ok(m.hessianTop! > 0 && m.hessianTrace! > 0);
    assert.ok(m.cka! > 0 && m.cka! <= 1 + 1e-9);
    assert.ok(v.phase.label !== null, `${v.member.file}: ${v.phase.reason}`);
    assert.deepEqual(labelPhase(m, v.phase.thresholds).label, v.phase.label);
    const partner = views.find((w) => w.model.id === v.partnerModelId)!;
    assert.equal(partner.member.hyperparameters.width, v.member.hyperparameters.width);
    assert.notEqual(partner.seed, v.seed);
    assert.equal(partner.metrics.mc, m.mc, 'mc belongs to the pair');
  }
  // Sort and filter by a metric.
  const sorted = await zoos.modelViews(zoo.id, { sortBy: 'trainLoss', descending: true });
  for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i - 1]!.metrics.trainLoss! >= sorted[i]!.metrics.trainLoss!);
  const cut = sorted[3]!.metrics.trainLoss!;
  const low = await zoos.modelViews(zoo.id, { filters: [{ metric: 'trainLoss', max: cut }] });
  assert.equal(low.length, views.filter((v) => v.metrics.trainLoss! <= cut).length);
  await assert.rejects(zoos.modelViews(zoo.id, { sortBy: 'nonsense' }), /unknown sort key/);
  // Thresholds are parameters: a loss threshold above every loss makes every model "low loss".
  const lenient = await zoos.modelViews(zoo.id, { thresholds: { lossThreshold: 1e9 } });
  assert.ok(lenient.every((v) => ['III', 'IV-A', 'IV-B'].includes(v.phase.label!) && v.phase.thresholds.lossThreshold === 1e9));
  // Phase diagram: cells are the seed means.
  const d = await zoos.diagram(zoo.id, 'trainLoss');
  assert.deepEqual(d.xValues, ['2', '8']);
  assert.deepEqual(d.yValues, ['4', '32']);
  const cell = views.filter((v) => v.member.hyperparameters.width === 8 && v.member.hyperparameters.batchSize === 4);
  assert.ok(Math.abs(d.values[0]![1]! - (cell[0]!.metrics.trainLoss! + cell[1]!.metrics.trainLoss!) / 2) < 1e-12);
  assert.equal(d.centre, DEFAULT_THRESHOLDS.lossThreshold);
  assert.match(d.svg, /^<svg/);
  assert.equal((await zoos.diagram(zoo.id, 'mc')).centre, 0);
  // The label map: each cell shows a label one of its models has (the majority; ties in table order).
  const labels = await zoos.diagram(zoo.id, 'phase');
  labels.yValues.forEach((yv, j) =>
    labels.xValues.forEach((xv, i) => {
      const inCell = views.filter((v) => String(v.member.hyperparameters.width) === xv && String(v.member.hyperparameters.batchSize) === yv).map((v) => v.phase.label as string | null);
      assert.ok(inCell.includes(labels.labels![j]![i]!), `${xv},${yv}: ${labels.labels![j]![i]} in ${inCell}`);
    }),
  );
  assert.match(labels.svg, /^<svg/);
  await services.close();
});

test('zoo: one broken model fails its items, is listed, and the run still finishes', async () => {
  const { services, zoos } = await open();
  const bad = path.join(dir, 'broken.onnx');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(bad, new Uint8Array([1, 2, 3]));
  // A model the dataset does not fit (5 inputs) is accepted as a model but fails its analyses.
  const { mlp } = await import('./helpers/mlpZoo.js');
  const { serializeModel } = await import('../native/onnx/ir.js');
  const wrong = mlp(2, { W1: new Array(8).fill(0.1), b1: [0, 0], W2: new Array(6).fill(0.1), b2: [0, 0, 0] });
  wrong.graph.inputs[0]!.shape = ['N', 5];
  wrong.graph.initializers.set('W1', { dtype: 'float32', dims: [2, 5], data: new Float32Array(10).fill(0.1) });
  writeFileSync(path.join(dir, 'wrong.onnx'), serializeModel(wrong));
  const text = `file,width,batchSize,seed\n${path.relative(dir, path.join(fixture.dir, 'models/mlp_w2_b4_s1.onnx'))},2,4,1\nwrong.onnx,2,4,2\n`;
  const read = async (f: string) => new Uint8Array(readFileSync(path.join(dir, f)));
  await assert.rejects(zoos.createZoo({ manifest: { text: 'file\nbroken.onnx\n', filename: 'm.csv' }, readFile: read }), (e: Error & { code?: string }) => /broken\.onnx/.test(e.message) && e.code === 'BAD_MODEL');
  const zoo = await zoos.createZoo({ name: 'with-a-bad-one', manifest: { text, filename: 'm.csv' }, readFile: read });
  const train = await ingestData(services, fixture.train);
  const run = await zoos.startRun({ zooId: zoo.id, analyzers: ['evaluate'], datasetId: train.id, concurrency: 2 });
  const p = await zoos.runEmbedded(run.id, () => undefined, new AbortController().signal);
  assert.equal(p.text, '2 of 2');
  assert.equal(p.failed, 1);
  const failures = await zoos.failures(run.id);
  assert.equal(failures.length, 1);
  assert.equal(failures[0]!.error!.code, 'DATASET_MISMATCH');
  assert.equal((await zoos.run(run.id)).status, 'FINISHED');
  // A per-item time budget fails the item alone (TIMEOUT), not the run. 1 ms is less than loading a model takes.
  const slow = await zoos.startRun({ zooId: zoo.id, analyzers: ['hessian'], params: { hessian: { maxIter: 200 } }, datasetId: train.id, concurrency: 1 });
  const q = await zoos.runEmbedded(slow.id, () => undefined, new AbortController().signal, 1);
  assert.equal(q.text, '2 of 2');
  assert.deepEqual((await zoos.failures(slow.id)).map((f) => f.error!.code).sort(), ['DATASET_MISMATCH', 'TIMEOUT']);
  await services.close();
});

test('manifest parsing: JSON (nested and flat hyperparameters) and CSV (quoted cells, numbers)', () => {
  const j = parseManifest(JSON.stringify([{ file: 'a.onnx', hyperparameters: { width: 4, opt: 'sgd' }, seed: '3' }]));
  assert.deepEqual(j.entries, [{ file: 'a.onnx', hyperparameters: { seed: 3, width: 4, opt: 'sgd' } }]);
  const c = parseManifest('file,lr,note\n"dir/a b.onnx",0.1,"x, y"\n', 'm.csv');
  assert.deepEqual(c.entries, [{ file: 'dir/a b.onnx', hyperparameters: { lr: 0.1, note: 'x, y' } }]);
  assert.throws(() => parseManifest('lr\n0.1\n', 'm.csv'), /file/);
  assert.throws(() => parseManifest('[{"file":"a"},{"file":"a"}]'), /twice/);
});

test('zoo archive: declared sizes over the limit refused before inflating (TOO_LARGE), a non-zip refused (BAD_PARAMS), files found by path', async () => {
  const zip = zipSync({ 'dir/manifest.csv': strToU8('file,width\na.onnx,4\n'), 'dir/a.onnx': new Uint8Array(4000) });
  const upload = readZooArchive(null, zip, 1 << 20);
  assert.equal(upload.manifest.filename, 'dir/manifest.csv');
  assert.equal((await upload.readFile('a.onnx')).length, 4000);
  assert.throws(() => readZooArchive(null, zip, 1000), (e: AppError) => e.code === 'TOO_LARGE' && /inflates to more than 1000 bytes/.test(e.message));
  assert.throws(() => readZooArchive(null, strToU8('not a zip at all'), 1000), (e: AppError) => e.code === 'BAD_PARAMS' && /not a readable zip/.test(e.message));
});

test('manifest CSV through csv-parse: comment lines, quoted quotes and line breaks, a short row refused', () => {
  const c = parseManifest('# made by a script\nfile,note,width\n"a.onnx","say ""hi""",4\nb.onnx,"two\nlines",8\n', 'm.csv');
  assert.deepEqual(c.entries, [
    { file: 'a.onnx', hyperparameters: { note: 'say "hi"', width: 4 } },
    { file: 'b.onnx', hyperparameters: { note: 'two\nlines', width: 8 } },
  ]);
  assert.throws(() => parseManifest('file,width\na.onnx\n', 'm.csv'), /row 2 has 1 cells, the header 2/);
});

test('phase table: each row of Yang et al. Table 1 from hand-set metrics', () => {
  const t = { ...DEFAULT_THRESHOLDS, sharpnessThreshold: 10 };
  const m = (trainLoss: number, hessianTop: number, mc: number, cka: number) => ({ ...emptyMetrics(), trainLoss, hessianTop, mc, cka });
  assert.equal(labelPhase(m(1.0, 50, -0.3, 0.5), t).label, 'I');
  assert.equal(labelPhase(m(1.0, 50, 0.3, 0.5), t).label, 'II');
  assert.equal(labelPhase(m(0.01, 1, -0.3, 0.5), t).label, 'III');
  assert.equal(labelPhase(m(0.01, 1, 0.01, 0.5), t).label, 'IV-A');
  assert.equal(labelPhase(m(0.01, 1, -0.01, 0.95), t).label, 'IV-B');
  const mixed = labelPhase(m(0.01, 50, 0, 0.95), t);
  assert.equal(mixed.label, 'IV-B');
  assert.match(mixed.notes.join(), /disagree/);
  const none = labelPhase({ ...emptyMetrics(), trainLoss: 0.5 }, t);
  assert.equal(none.label, null);
  assert.deepEqual(none.missing, ['hessianTop', 'mc', 'cka']);
});
