/**
 * Zoos over GraphQL with the worker pool: createZoo (multipart: manifest + zip of ONNX files),
 * runZooAnalysis through the persisted queue with a concurrency limit, `k of N` progress until it
 * finishes, models sorted and filtered by a metric, the same request again answered from the cache.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import { startTestService, type TestService } from './helpers/serviceHarness.js';
import { writeMlpZoo, type ZooFixture } from './helpers/mlpZoo.js';

let dir: string;
let fixture: ZooFixture;
let svc: TestService;

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-zoo-gql-'));
  fixture = await writeMlpZoo(path.join(dir, 'zoo'), { widths: [2, 6], batchSizes: [8], seeds: [1, 2], steps: 20 });
  svc = await startTestService({ workers: 2 });
});
after(async () => {
  await svc.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(svc.dataDir, { recursive: true, force: true });
});

const CREATE = `mutation($file: Upload!, $name: String) {
  createZoo(archive: $file, name: $name) { id name loadAxis temperatureAxis }
}`;
const RUN = `mutation($input: RunZooAnalysisInput!) { runZooAnalysis(input: $input) { id status total done progressText cached concurrency } }`;
const RUN_STATUS = `query($id: ID!) { zooRun(id: $id) { id status total done succeeded failed progressText cached failures { modelId analyzer code message } } }`;
const MODELS = `query($id: ID!, $sortBy: String, $filters: [MetricFilterInput!]) {
  zoo(id: $id) {
    id
    models(sortBy: $sortBy, descending: true, filters: $filters) {
      model { id name } file hyperparameters partnerModelId
      metrics { trainLoss trainAccuracy testLoss testAccuracy hessianTop hessianTrace mc cka }
      phase { label reason missing thresholds { lossThreshold sharpnessThreshold mcTolerance ckaThreshold } }
    }
    runs { id status progressText }
    phaseDiagram(metric: "trainLoss", y: "batchSize") { xAxis yAxis xValues yValues values centre svg }
  }
}`;

/** One multipart file (the server takes one per request): the zip, with the manifest inside it under zoo/. */
async function createZoo(manifest: Uint8Array, files: Record<string, Uint8Array>) {
  const inZoo = Object.fromEntries(Object.entries(files).map(([k, v]) => [`zoo/${k}`, v]));
  const archive = zipSync({ ...inZoo, 'zoo/manifest.csv': manifest });
  const r = await svc.upload(CREATE, { name: 'gql-zoo' }, { bytes: archive, filename: 'zoo.zip' });
  return r.body as { data?: any; errors?: Array<{ message: string; extensions?: { code?: string } }> };
}

async function uploadDataset(file: string): Promise<string> {
  const r = await svc.upload(`mutation($file: Upload!) { uploadDataset(file: $file) { id } }`, {}, { bytes: new Uint8Array(readFileSync(file)), filename: path.basename(file) });
  return r.body.data!.uploadDataset.id;
}

test('GraphQL: createZoo from CSV manifest + zip, runZooAnalysis to the end, sorted metrics, cached rerun', async () => {
  const manifest = JSON.parse(readFileSync(fixture.manifest, 'utf8')) as { models: Array<{ file: string; width: number; batchSize: number; seed: number }> };
  const csv = `file,width,batchSize,seed\n${manifest.models.map((m) => `${m.file},${m.width},${m.batchSize},${m.seed}`).join('\n')}\n`;
  const files = Object.fromEntries(manifest.models.map((m) => [m.file, new Uint8Array(readFileSync(path.join(fixture.dir, m.file)))]));
  const created = await createZoo(new TextEncoder().encode(csv), files);
  assert.equal(created.errors, undefined, JSON.stringify(created.errors));
  const zoo = created.data.createZoo;
  assert.equal(zoo.loadAxis, 'width');
  assert.equal(zoo.temperatureAxis, null, 'batch size does not vary here');
  // A manifest naming a file the archive lacks is BAD_PARAMS.
  const missing = await createZoo(new TextEncoder().encode('file\nnope.onnx\n'), files);
  assert.equal(missing.errors?.[0]?.extensions?.code, 'BAD_PARAMS');

  const train = await uploadDataset(fixture.train);
  const testSet = await uploadDataset(fixture.test);
  const params = { hessian: { compute: ['top', 'trace'], maxIter: 20, maxProbes: 30 }, landscape: { points: 5, curveEpochs: 2 } };
  const input = { zooId: zoo.id, analyzers: ['evaluate', 'hessian', 'landscape'], params, datasetId: train, testDatasetId: testSet, concurrency: 2 };
  const started = await svc.gql(RUN, { input });
  assert.equal(started.body.errors, undefined, JSON.stringify(started.body.errors));
  const run = started.body.data!.runZooAnalysis;
  assert.equal(run.total, 4 * 3 + 2, 'evaluate train+test and hessian per model, landscape per seed pair');
  assert.equal(run.concurrency, 2);
  const texts = new Set<string>();
  let status: any;
  const deadline = Date.now() + 120_000;
  do {
    await new Promise((r) => setTimeout(r, 150));
    status = (await svc.gql(RUN_STATUS, { id: run.id })).body.data!.zooRun;
    texts.add(status.progressText);
    // The concurrency limit: never more than 2 of this run's jobs queued or running at once.
    const active = (await svc.app.store.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM zoo_run_items WHERE run_id = ? AND status = 'SUBMITTED'`, [run.id]))!.n;
    assert.ok(active <= 2, `${active} in flight`);
  } while (status.status !== 'FINISHED' && Date.now() < deadline);
  assert.equal(status.status, 'FINISHED', JSON.stringify(status));
  assert.equal(status.progressText, '14 of 14');
  assert.equal(status.failed, 0, JSON.stringify(status.failures));

  const q = (await svc.gql(MODELS, { id: zoo.id, sortBy: 'trainLoss' })).body;
  assert.equal(q.errors, undefined, JSON.stringify(q.errors));
  const models = q.data!.zoo.models as any[];
  assert.equal(models.length, 4);
  for (let i = 1; i < models.length; i++) assert.ok(models[i - 1].metrics.trainLoss >= models[i].metrics.trainLoss);
  for (const m of models) {
    assert.equal(typeof m.metrics.testAccuracy, 'number');
    assert.ok(m.metrics.hessianTop > 0);
    assert.equal(typeof m.metrics.mc, 'number');
    assert.equal(typeof m.metrics.cka, 'number');
    assert.ok(['I', 'II', 'III', 'IV-A', 'IV-B'].includes(m.phase.label), m.phase.reason);
    assert.deepEqual(m.phase.missing, []);
    assert.equal(m.phase.thresholds.lossThreshold, 0.1);
    assert.ok(m.partnerModelId);
  }
  // The landscape job's typed result over GraphQL carries the same mc and CKA as the zoo metrics.
  const pair = (await svc.app.store.db.get<{ analysis_id: string; model_id: string }>(
    `SELECT analysis_id, model_id FROM zoo_run_items WHERE run_id = ? AND analyzer = 'landscape' ORDER BY seq LIMIT 1`, [run.id],
  ))!;
  const typed = (await svc.gql(`query($id: ID!) { analysis(id: $id) { status result { __typename ... on LandscapeResult { otherModel curve { mc ts } cka { value layer } interpolation { mcLinear barrier } } } } }`, { id: pair.analysis_id })).body;
  assert.equal(typed.errors, undefined, JSON.stringify(typed.errors));
  const lr = typed.data!.analysis.result;
  assert.equal(lr.__typename, 'LandscapeResult');
  const owner = models.find((m) => m.model.id === pair.model_id);
  assert.equal(lr.curve.mc, owner.metrics.mc);
  assert.equal(lr.cka.value, owner.metrics.cka);
  assert.equal(lr.curve.ts.length, 5);
  const cut = models[1].metrics.trainLoss;
  const filtered = (await svc.gql(MODELS, { id: zoo.id, filters: [{ metric: 'trainLoss', min: cut }] })).body.data!.zoo.models;
  assert.equal(filtered.length, 2);
  assert.deepEqual(q.data!.zoo.phaseDiagram.xValues, ['2', '6']);

  // The same request again after it finished: a new run, every item answered from the cache.
  const again = (await svc.gql(RUN, { input })).body.data!.runZooAnalysis;
  assert.notEqual(again.id, run.id, 'the first run finished, so a new one starts');
  assert.equal(again.status, 'FINISHED');
  assert.equal(again.cached, 14);
});

test('GraphQL: a server restart in the middle of a zoo run resumes it; finished items are not recomputed', async () => {
  const manifest = readFileSync(fixture.manifest);
  const files = Object.fromEntries(
    (JSON.parse(manifest.toString()) as { models: Array<{ file: string }> }).models.map((m) => [m.file, new Uint8Array(readFileSync(path.join(fixture.dir, m.file)))]),
  );
  const archive = zipSync({ ...files, 'manifest.json': new Uint8Array(manifest) });
  const own = await startTestService({ workers: 1 });
  let restarted: TestService | null = null;
  try {
    const zoo = (await own.upload(CREATE, { name: 'restart' }, { bytes: archive, filename: 'zoo.zip' })).body.data!.createZoo;
    const r = await own.upload(`mutation($file: Upload!) { uploadDataset(file: $file) { id } }`, {}, { bytes: new Uint8Array(readFileSync(fixture.train)), filename: 'train.csv' });
    const input = { zooId: zoo.id, analyzers: ['evaluate', 'hessian'], params: { hessian: { compute: ['top', 'trace'], maxIter: 20, maxProbes: 30 } }, datasetId: r.body.data!.uploadDataset.id, concurrency: 1 };
    const run = (await own.gql(RUN, { input })).body.data!.runZooAnalysis;
    let done = 0;
    while (done < 2) {
      await new Promise((res) => setTimeout(res, 50));
      done = (await own.gql(RUN_STATUS, { id: run.id })).body.data!.zooRun.done;
    }
    await own.stop();
    const computedBefore = await countComputed(own.dataDir, run.id);
    restarted = await startTestService({ workers: 1, dataDir: own.dataDir });
    let status: any;
    const deadline = Date.now() + 60_000;
    do {
      await new Promise((res) => setTimeout(res, 100));
      status = (await restarted.gql(RUN_STATUS, { id: run.id })).body.data!.zooRun;
    } while (status.status !== 'FINISHED' && Date.now() < deadline);
    assert.equal(status.progressText, '8 of 8');
    assert.equal(status.failed, 0, JSON.stringify(status.failures));
    // Each item's analysis ran once: the ones finished before the restart kept their analyses.
    const rows = await restarted.app.store.db.all<{ cache_key: string; n: number }>(
      `SELECT cache_key, COUNT(*) AS n FROM analyses WHERE cached = 0 AND status = 'SUCCEEDED' GROUP BY cache_key`,
    );
    assert.equal(rows.length, 8);
    assert.ok(rows.every((x) => x.n === 1), JSON.stringify(rows));
    assert.ok(computedBefore >= 2);
  } finally {
    await restarted?.stop();
    rmSync(own.dataDir, { recursive: true, force: true });
  }
});

/** Items of the run that had succeeded when the first server stopped (read from its database file). */
async function countComputed(dataDir: string, runId: string): Promise<number> {
  const { openStore } = await import('../storage/store.js');
  const store = await openStore(dataDir);
  try {
    return (await store.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM zoo_run_items WHERE run_id = ? AND status = 'SUCCEEDED'`, [runId]))!.n;
  } finally {
    await store.close();
  }
}
