/**
 * Regenerates docs/screenshots/: a real server (temp data dir, no tokens), the MNIST CNN and
 * 100 of its test digits, a small trained MLP zoo, every analyzer run with small params, and each page and
 * result view photographed by chromium. `npm run screenshots` (a few minutes on 2 cores).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cliSync } from './helpers/cli.js';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import { MNIST_MODEL, removeDir, startTestService, type TestService } from './helpers/serviceHarness.js';
import { launchBrowser } from './helpers/browser.js';
import { writeMlpZoo } from './helpers/mlpZoo.js';
import { mnistRows } from './helpers/mnist-csv.js';
import { writeNpz } from '../datasets/npz.js';

const OUT = path.resolve('docs', 'screenshots');

async function upload(svc: TestService, kind: 'uploadModel' | 'uploadDataset', bytes: Uint8Array, filename: string): Promise<string> {
  const r = await svc.upload(`mutation($file: Upload!, $name: String) { ${kind}(file: $file, name: $name) { id } }`, { name: filename }, { bytes, filename });
  if (r.body.errors) throw new Error(JSON.stringify(r.body.errors));
  return r.body.data![kind].id;
}

const uploadFile = (svc: TestService, kind: 'uploadModel' | 'uploadDataset', file: string) => upload(svc, kind, new Uint8Array(readFileSync(file)), path.basename(file));

/** The 100 test digits scaled to [0, 1] as the CNN was trained (raw 0..255 saturates it: zero loss, zero curvature). */
function scaledMnistNpz(): Uint8Array {
  const rows = mnistRows(100);
  return writeNpz({
    x: { dtype: 'f4', shape: [rows.length, 1, 28, 28], data: Float32Array.from(rows.flatMap((r) => r.pixels)) },
    y: { dtype: 'i8', shape: [rows.length], data: rows.map((r) => r.label) },
  });
}

async function run(svc: TestService, modelId: string, datasetId: string | null, analyzer: string, params: Record<string, unknown>): Promise<string> {
  const r = await svc.gql(`mutation($input: RunAnalysisInput!) { runAnalysis(input: $input) { id } }`, { input: { modelId, datasetId, analyzer, params } });
  if (r.body.errors) throw new Error(`${analyzer}: ${JSON.stringify(r.body.errors)}`);
  const id = r.body.data!.runAnalysis.id as string;
  const done = await svc.waitFor(id, 600_000);
  if (done.status !== 'SUCCEEDED') throw new Error(`${analyzer}: ${JSON.stringify(done.error)}`);
  console.log(`ran ${analyzer}`);
  return id;
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  const zooDir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-shots-zoo-'));
  const svc = await startTestService({ workers: 2 });
  const browser = await launchBrowser();
  const { page } = browser;
  try {
    const model = await uploadFile(svc, 'uploadModel', MNIST_MODEL);
    const data = await upload(svc, 'uploadDataset', scaledMnistNpz(), 'mnist_test_100.npz');
    const views: Array<[string, string]> = [
      ['evaluate', await run(svc, model, data, 'evaluate', {})],
      ['hessian', await run(svc, model, data, 'hessian', { compute: ['top', 'trace', 'density', 'perLayer'], topK: 3, maxSamples: 20, maxIter: 30, maxProbes: 20, slqSteps: 40, densityBins: 400 })],
      ['saliency', await run(svc, model, data, 'saliency', { method: 'gradcampp', indices: '0-5', metrics: ['deletion', 'insertion'], steps: 20 })],
      ['blindspots', await run(svc, model, data, 'blindspots', { sources: [0, 1, 2], targets: [3, 4, 5], iters: 60 })],
      ['safety', await run(svc, model, data, 'safety', { eps: 0.02, indices: [0, 1, 2, 3], timeout: 5 })],
      ['coherence', await run(svc, model, data, 'coherence', { maxSamples: 64 })],
      ['gradients', await run(svc, model, data, 'gradients', {})],
      ['weights', await run(svc, model, null, 'weights', {})],
      ['landscape-2d', await run(svc, model, data, 'landscape', { surface: '2d', resolution: 11, maxSamples: 100, curve: false, cka: false })],
    ];

    // A zoo of small trained MLPs: phase diagram, table, and a landscape between two seeds.
    const zoo = await writeMlpZoo(zooDir, { widths: [4, 16], batchSizes: [4, 32], seeds: [0, 1], steps: 40 });
    const manifest = JSON.parse(readFileSync(zoo.manifest, 'utf8')) as { models: Array<{ file: string }> };
    const archive = zipSync({ 'manifest.json': new Uint8Array(readFileSync(zoo.manifest)), ...Object.fromEntries(manifest.models.map((m) => [m.file, new Uint8Array(readFileSync(path.join(zooDir, m.file)))])) });
    const created = await svc.upload(`mutation($file: Upload!) { createZoo(archive: $file, name: "mlp-zoo") { id models { model { id } } } }`, {}, { bytes: archive, filename: 'zoo.zip' });
    if (created.body.errors) throw new Error(JSON.stringify(created.body.errors));
    const zooId = created.body.data!.createZoo.id as string;
    const zooModels = (created.body.data!.createZoo.models as Array<{ model: { id: string } }>).map((m) => m.model.id);
    const train = await uploadFile(svc, 'uploadDataset', zoo.train);
    const testSet = await uploadFile(svc, 'uploadDataset', zoo.test);
    views.push(['landscape-paths', await run(svc, zooModels[0]!, train, 'landscape', { otherModel: zooModels[1], surface: '1d', points: 11, curveEpochs: 3 })]);
    const zr = await svc.gql(`mutation($input: RunZooAnalysisInput!) { runZooAnalysis(input: $input) { id } }`, {
      input: { zooId, datasetId: train, testDatasetId: testSet, params: { hessian: { compute: ['top', 'trace'], maxIter: 20, maxProbes: 20 }, landscape: { points: 5, curveEpochs: 2 } } },
    });
    for (let status = ''; status !== 'FINISHED'; await new Promise((r) => setTimeout(r, 300))) {
      status = (await svc.gql(`query($id: ID!) { zooRun(id: $id) { status } }`, { id: zr.body.data!.runZooAnalysis.id })).body.data!.zooRun.status;
    }
    console.log('ran the zoo');

    const shoot = async (name: string, route: string | null, ready: string) => {
      if (route !== null) await page.goto(`${svc.url}/#${route}`);
      await page.locator(ready).first().waitFor({ timeout: 60_000 });
      await page.waitForLoadState('networkidle');
      if (browser.pageErrors.length) throw new Error(`${name}: the page failed: ${browser.pageErrors.join('; ')}`);
      await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
      console.log(`wrote ${name}.png`);
    };
    await shoot('models', `/models/${model}`, '[data-testid=model-summary]');
    await shoot('datasets', `/datasets/${data}`, '[data-testid=label-histogram]');
    await shoot('new-analysis', '/analyses/new?analyzer=hessian', '.param');
    for (const [name, id] of views) await shoot(name, `/analyses/${id}`, '[data-testid=result]');
    await shoot('history', '/analyses', '[data-testid=analyses] tbody tr');
    await shoot('zoo', `/zoos/${zooId}`, '[data-testid=phase-diagram] svg');

    // A CI gate report (onnxscope gate --report) on the same model, one rule failing on purpose.
    const npz = path.join(zooDir, 'mnist_test_100.npz');
    writeFileSync(npz, scaledMnistNpz());
    // Paths relative to the config, as a project's gate.yml has them.
    copyFileSync(MNIST_MODEL, path.join(zooDir, 'cnn_mnist_pytorch.onnx'));
    writeFileSync(path.join(zooDir, 'gate.yml'), ['model: cnn_mnist_pytorch.onnx', `data: ${path.basename(npz)}`, 'analyses:', '  hessian:', '    params: { topK: 1, maxSamples: 20, maxProbes: 10 }', 'rules:', '  - evaluate.accuracy >= 0.95', '  - hessian.topEigenvalues[0] <= 10', '  - hessian.trace <= 200', ''].join('\n'));
    const report = path.join(zooDir, 'gate.json');
    const gate = cliSync(['gate', '--config', path.join(zooDir, 'gate.yml'), '--data-dir', path.join(zooDir, 'gate-cache'), '--report', report]);
    if (gate.code !== 0 && gate.code !== 1) throw new Error(`gate exited ${gate.code}: ${gate.stderr}`);
    await page.goto(`${svc.url}/#/gate`);
    await page.locator('[data-testid=gate-text]').fill(readFileSync(report, 'utf8'));
    await page.getByRole('button', { name: 'Show report' }).click();
    await shoot('gate', null, '[data-testid=gate-verdict]');
  } finally {
    await browser.close();
    await svc.stop();
    removeDir(svc.dataDir);
    removeDir(zooDir);
  }
}

await main();
