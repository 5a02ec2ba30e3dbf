/**
 * The weights analyzer through the service: the typed GraphQL result and its ESD artifacts, and
 * zoo metrics (weightsAlpha, weightsAlphaWeighted, weightsSpikes) sortable like the phase metrics.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { startTestService, MNIST_MODEL, type TestService } from './helpers/serviceHarness.js';
import { loadConfig } from '../service/config.js';
import { openLocalServices } from '../service/local.js';
import { writeMlpZoo } from './helpers/mlpZoo.js';

let svc: TestService;
const dir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-weights-svc-'));

before(async () => {
  svc = await startTestService();
});
after(async () => {
  await svc.stop();
  rmSync(svc.dataDir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

test('GraphQL: runAnalysis weights without a dataset gives a typed WeightsResult and an SVG per layer', async () => {
  const up = await svc.upload('mutation($file: Upload!) { uploadModel(file: $file) { id } }', {}, { bytes: new Uint8Array(readFileSync(MNIST_MODEL)), filename: 'cnn.onnx' });
  const modelId = up.body.data!.uploadModel.id as string;
  const run = await svc.gql('mutation($input: RunAnalysisInput!) { runAnalysis(input: $input) { id } }', { input: { modelId, analyzer: 'weights' } });
  assert.equal(run.body.errors, undefined, JSON.stringify(run.body.errors));
  const done = await svc.waitFor(run.body.data!.runAnalysis.id);
  assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done.error));
  const q = await svc.gql(
    `query($id: ID!) { analysis(id: $id) { resultJson artifacts { name url }
      result { ... on WeightsResult { convMode summary { alpha alphaWeighted numSpikes sizeWeighted { alpha } } layers { name n m matrices alpha shuffled { alpha } correlationTrap } } } } }`,
    { id: done.id },
  );
  assert.equal(q.body.errors, undefined, JSON.stringify(q.body.errors));
  const a = q.body.data!.analysis;
  const json = typeof a.resultJson === 'string' ? JSON.parse(a.resultJson) : a.resultJson;
  assert.equal(a.result.convMode, 'slices');
  assert.equal(a.result.summary.alpha, json.summary.alpha);
  assert.deepEqual(a.result.layers.map((l: { name: string; n: number; m: number; matrices: number }) => [l.name, l.n, l.m, l.matrices]), [
    ['conv1.weight', 10, 1, 25],
    ['conv2.weight', 20, 10, 25],
    ['fc1.weight', 320, 50, 1],
    ['fc2.weight', 50, 10, 1],
  ]);
  // One ESD plot per layer, each as SVG and as the PNG the server renders beside it.
  const names = a.artifacts.map((x: { name: string }) => x.name).sort();
  assert.deepEqual(names.filter((n: string) => n.endsWith('.svg')).map((n: string) => n.replace(/\.svg$/, '.png')), names.filter((n: string) => n.endsWith('.png')));
  assert.equal(names.length, 8);
  const fc2 = a.artifacts.find((x: { name: string }) => x.name.endsWith('fc2.weight.svg'));
  const svg = await request(svc.url).get(new URL(fc2.url, svc.url).pathname).buffer(true).parse((res, done) => {
    let text = '';
    res.on('data', (c: Buffer) => (text += c.toString()));
    res.on('end', () => done(null, text));
  });
  assert.equal(svg.status, 200);
  assert.match(svg.headers['content-type'] ?? '', /image\/svg\+xml/);
  assert.match(svg.body as string, /ESD of fc2\.weight/);
});

test('zoo: weights metrics per model, sortable', async () => {
  const fixture = await writeMlpZoo(path.join(dir, 'zoo'), { widths: [16, 32], batchSizes: [8], seeds: [1], steps: 10 });
  const services = await openLocalServices(loadConfig({ dataDir: path.join(dir, 'data') }));
  try {
    const zoos = services.zoos;
    const zoo = await zoos.createZoo({
      manifest: { text: readFileSync(fixture.manifest, 'utf8'), filename: 'manifest.json' },
      readFile: async (f) => new Uint8Array(readFileSync(path.join(fixture.dir, f))),
    });
    const train = await services.datasets.ingest({ bytes: new Uint8Array(readFileSync(fixture.train)), filename: 'train.csv' });
    const run = await zoos.startRun({ zooId: zoo.id, analyzers: ['weights'], params: { weights: { minEigenvalues: 3, minTail: 2 } }, datasetId: train.id, concurrency: 1 });
    const p = await zoos.runEmbedded(run.id, () => undefined, new AbortController().signal);
    assert.equal(p.failed, 0, JSON.stringify(await zoos.failures(run.id)));
    const views = await zoos.modelViews(zoo.id, { sortBy: 'weightsAlpha' });
    assert.equal(views.length, 2);
    const items = await zoos.repo.items(run.id);
    for (const v of views) {
      const item = items.find((i) => i.modelId === v.model.id)!;
      const result = (await services.analyses.result(await services.analyses.get(item.analysisId!))) as { summary: { alpha: number; alphaWeighted: number; numSpikes: number } };
      assert.deepEqual([v.metrics.weightsAlpha, v.metrics.weightsAlphaWeighted, v.metrics.weightsSpikes], [result.summary.alpha, result.summary.alphaWeighted, result.summary.numSpikes]);
      assert.equal(typeof v.metrics.weightsAlpha, 'number');
    }
    assert.ok(views[0]!.metrics.weightsAlpha! <= views[1]!.metrics.weightsAlpha!, 'sorted ascending');
  } finally {
    await services.close();
  }
});
