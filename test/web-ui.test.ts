/**
 * The dashboard in a real browser (Debian's chromium via playwright-core) against a real server
 * with tokens on: sign in, upload a model (file chooser) and a dataset (drag and drop), run
 * evaluate, hessian and saliency, watch a long run's progress bar move and cancel it, sign in
 * with a read-only token and see the upload refused. A failing step saves a screenshot in
 * test-output/web-ui/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import onnxProto from 'onnx-proto';
import type { Page } from 'playwright-core';
import { MNIST_CSV, MNIST_MODEL, removeDir, startTestService, type TestService } from './helpers/serviceHarness.js';
import { dropFile, launchBrowser, outputDir, step, type TestBrowser } from './helpers/browser.js';
import { parseTokens } from '../service/config.js';

const WRITER = 'writer-token-0123';
const READER = 'reader-token-4567';
const OUT = outputDir('web-ui');

/** Parameter count straight from the protobuf: elements of the float initializers (independent of the service's IR). */
function floatInitializerElements(file: string): number {
  const m = onnxProto.onnx.ModelProto.decode(readFileSync(file));
  return (m.graph?.initializer ?? [])
    .filter((t) => t.dataType === onnxProto.onnx.TensorProto.DataType.FLOAT)
    .reduce((s, t) => s + (t.dims ?? []).reduce((a: number, d) => a * Number(d), 1), 0);
}

/** Label counts of the CSV (label first on each line), counted here from the text. */
function csvLabelCounts(file: string): Map<number, number> {
  const counts = new Map<number, number>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const label = Number(line.split(',')[0]);
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return counts;
}

describe('dashboard in a browser', () => {
  let svc: TestService;
  let browser: TestBrowser;
  let page: Page;
  const analysisIds: Record<string, string> = {};

  before(async () => {
    svc = await startTestService({ tokens: parseTokens(`${WRITER}:read,write;${READER}:read`) });
    browser = await launchBrowser();
    page = browser.page;
  });
  after(async () => {
    await browser?.close();
    await svc?.stop();
    if (svc) removeDir(svc.dataDir);
  });

  const currentAnalysisId = () => new URL(page.url()).hash.replace('#/analyses/', '');

  /** Fills the generated form and runs; returns the new analysis id. */
  async function runFromForm(analyzer: string, params: Record<string, string>): Promise<string> {
    await page.goto(`${svc.url}/#/analyses/new`);
    await page.locator('select[name=analyzer]').selectOption(analyzer);
    for (const [name, value] of Object.entries(params)) {
      const field = page.locator(`[name="${name}"]`);
      if ((await field.evaluate((e) => e.tagName)) === 'SELECT') await field.selectOption(value);
      else await field.fill(value);
    }
    await page.getByRole('button', { name: `Run ${analyzer}` }).click();
    await page.locator('[data-testid=analysis]').waitFor();
    const id = currentAnalysisId();
    analysisIds[analyzer] = id;
    return id;
  }

  const waitSucceeded = async () => {
    await page.locator('[data-testid=status]', { hasText: /SUCCEEDED|FAILED|CANCELLED/ }).waitFor({ timeout: 120_000 });
    const error = await page.locator('[data-testid=analysis-error]').textContent({ timeout: 200 }).catch(() => null);
    assert.equal(await page.locator('[data-testid=status]').textContent(), 'SUCCEEDED', error ?? '');
    await page.locator('[data-testid=result]').waitFor();
  };

  const resultOf = async (id: string) => (await svc.gql(`query($id: ID!) { analysis(id: $id) { resultJson } }`, { id }, WRITER)).body.data!.analysis.resultJson;

  it('asks for a token, then uploads a model through the file chooser and shows its summary', async () => {
    await step(page, OUT, 'login', async () => {
      await page.goto(`${svc.url}/`);
      await page.locator('[data-testid=login] input[name=token]').fill(WRITER);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('[data-testid=model-drop]').waitFor();
      // The token stays for the tab only.
      assert.equal(await page.evaluate('sessionStorage.getItem("onnxscope.token")'), WRITER);
    });
    await step(page, OUT, 'model-upload', async () => {
      await page.locator('[data-testid=model-drop] input[type=file]').setInputFiles(MNIST_MODEL);
      await page.locator('[data-testid=model-summary]').waitFor();
      const shown = Number((await page.locator('[data-testid=parameter-count]').textContent())!.replace(/,/g, ''));
      assert.equal(shown, floatInitializerElements(MNIST_MODEL));
      assert.match((await page.locator('[data-testid=autodiff]').textContent())!, /^supported/);
    });
  });

  it('uploads a dataset by drag and drop, checked against the model, with sample images and the label histogram', async () => {
    await step(page, OUT, 'dataset-upload', async () => {
      await page.goto(`${svc.url}/#/datasets`);
      await page.locator('[data-testid=dataset-model]').selectOption({ index: 1 });
      // Preprocessing: pixels 0..255 scaled to 0..1 (what the CNN was trained on).
      await page.getByText('Preprocessing (optional').click();
      await page.locator('[name=prep-scale]').fill(String(1 / 255));
      await dropFile(page, '[data-testid=dataset-drop]', new Uint8Array(readFileSync(MNIST_CSV)), 'mnist_test.csv', 'text/csv');
      await page.locator('[data-testid=dataset-summary]').waitFor();
      const counts = csvLabelCounts(MNIST_CSV);
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      assert.equal(Number(await page.locator('[data-testid=sample-count]').textContent()), total);
      const pixels = readFileSync(MNIST_CSV, 'utf8').split('\n').filter((l) => l.trim()).flatMap((l) => l.split(',').slice(1).map(Number));
      const [lo, hi] = [Math.min(...pixels), Math.max(...pixels)];
      assert.match((await page.locator('[data-testid=dataset-summary] .facts').textContent())!, new RegExp(`\\[${lo / 255}, ${hi / 255}\\] as the model sees them, \\[${lo}, ${hi}\\] as stored`));
      // 784 values per sample read as 28x28 images.
      assert.equal(await page.locator('[data-testid=dataset-samples] canvas').count(), Math.min(24, total));
      const bars = await page.locator('[data-testid=label-histogram] rect title').allTextContents();
      const shown = new Map(bars.map((t) => t.split(': ').map(Number) as [number, number]));
      assert.deepEqual([...shown].sort((a, b) => a[0] - b[0]), [...counts].sort((a, b) => a[0] - b[0]));
    });
  });

  it('runs evaluate from the generated form and shows accuracy and the confusion matrix', async () => {
    await step(page, OUT, 'evaluate', async () => {
      const id = await runFromForm('evaluate', { batchSize: '50' });
      await waitSucceeded();
      const r = await resultOf(id);
      assert.equal(r.batchSize, 50, 'the form sent the typed param');
      const cells = (await page.locator('[data-testid=confusion-matrix] rect title').allTextContents()).map((t) => Number(t.split(': ')[1]));
      assert.equal(cells.length, r.numClasses * r.numClasses);
      const samples = [...csvLabelCounts(MNIST_CSV).values()].reduce((a, b) => a + b, 0);
      assert.equal(cells.reduce((a, b) => a + b, 0), samples);
      // Diagonal of the matrix = the correct count the summary line states.
      const n = r.numClasses;
      const diagonal = cells.filter((_, k) => k % n === Math.floor(k / n)).reduce((a, b) => a + b, 0);
      assert.match((await page.locator('[data-testid=accuracy]').textContent())!, new RegExp(`\\(${diagonal} of ${samples}\\)`));
    });
  });

  it('runs hessian and opens its eigenvalues, trace ± stderr and the log-scale density plot', async () => {
    await step(page, OUT, 'hessian', async () => {
      const id = await runFromForm('hessian', { compute: 'top,trace,density', topK: '2', maxIter: '20', maxSamples: '20', maxProbes: '6', slqSteps: '12', densityBins: '200' });
      await waitSucceeded();
      const r = await resultOf(id);
      const shown = (await page.locator('[data-testid=eigenvalues] tbody td:nth-child(2)').allTextContents()).map(Number);
      assert.equal(shown.length, 2);
      // Shown to 6 significant digits.
      shown.forEach((v, i) => assert.ok(Math.abs(v - r.topEigenvalues[i].value) <= 1e-5 * Math.abs(r.topEigenvalues[i].value), `${v} vs ${r.topEigenvalues[i].value}`));
      assert.match((await page.locator('[data-testid=trace]').textContent())!, / ± /);
      // uPlot draws on a canvas; its legend lists the series.
      await page.locator('[data-testid=density-plot] canvas').first().waitFor();
      assert.ok(await page.locator('[data-testid=density-plot] .u-legend', { hasText: 'density' }).count());
    });
  });

  it('shows saliency overlays through signed artifact URLs that carry no token', async () => {
    await step(page, OUT, 'saliency', async () => {
      await runFromForm('saliency', { indices: '0-1' });
      await waitSucceeded();
      const overlay = page.locator('[data-testid=saliency-overlay]').first();
      await overlay.waitFor();
      await page.waitForFunction(`[...document.querySelectorAll('[data-testid=saliency-overlay]')].every((i) => i.complete && i.naturalWidth > 0)`);
      assert.equal(await page.locator('[data-testid=saliency-overlay]').count(), 2);
      const src = (await overlay.getAttribute('src'))!;
      assert.ok(!src.includes(WRITER) && /[?&]sig=/.test(src), src);
      // The signature opens the file without a header; without it, or altered, the server refuses.
      assert.equal((await request(svc.url).get(src)).status, 200);
      assert.equal((await request(svc.url).get(src.split('?')[0]!)).status, 401);
      assert.equal((await request(svc.url).get(src.replace(/sig=./, (m) => (m.endsWith('A') ? 'sig=B' : 'sig=A')))).status, 401);
    });
  });

  it('shows a long run’s progress bar moving, and cancels it', async () => {
    await step(page, OUT, 'cancel', async () => {
      await runFromForm('test-slow', { ms: '60000', tag: `cancel-${Date.now()}` });
      const bar = page.locator('[data-testid=progress]');
      await page.waitForFunction(`Number(document.querySelector('[data-testid=progress]')?.value) > 0`);
      const first = Number(await bar.evaluate((e) => (e as unknown as { value: number }).value));
      await page.waitForFunction(`Number(document.querySelector('[data-testid=progress]')?.value) > ${first}`);
      await page.locator('[data-testid=cancel]').click();
      await page.locator('[data-testid=status]', { hasText: 'CANCELLED' }).waitFor();
      const a = (await svc.gql(`query($id: ID!) { analysis(id: $id) { status } }`, { id: currentAnalysisId() }, WRITER)).body.data!.analysis;
      assert.equal(a.status, 'CANCELLED');
    });
  });

  it('with a read-only token: shows read-only mode and the server refuses uploads', async () => {
    await step(page, OUT, 'read-only', async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.locator('[data-testid=login] input[name=token]').fill(READER);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('[data-testid=read-only]').waitFor();
      await page.goto(`${svc.url}/#/models`);
      const before = (await svc.footprint()).models;
      await page.locator('[data-testid=model-drop] input[type=file]').setInputFiles(MNIST_MODEL);
      await page.locator('.error', { hasText: 'FORBIDDEN' }).waitFor();
      assert.equal((await svc.footprint()).models, before);
      // The analyses already run are still there to look at.
      await page.goto(`${svc.url}/#/analyses/${analysisIds.evaluate}`);
      await page.locator('[data-testid=confusion-matrix]').waitFor();
      assert.equal(await page.locator('[data-testid=cancel]').count(), 0);
    });
  });

  it('shows a pasted gate report: verdict and one row per rule, the failing one marked', async () => {
    await step(page, OUT, 'gate-report', async () => {
      const rule = (name: string, status: string, observed: number, threshold: number) => ({ name, rule: `${name} <= ${threshold}`, analysis: 'hessian', field: name, label: null, line: 3, op: '<=', durationMs: 5, status, observed, threshold, baseline: null, message: status === 'fail' ? `${observed} > ${threshold}` : 'ok' });
      const report = {
        config: 'gate.yml', where: 'embedded', model: { file: 'm.onnx', sha256: 'ab'.repeat(32) }, baseline: null, data: 'd.npz', passed: false,
        counts: { rules: 2, passed: 1, failed: 1, errors: 0, warnings: 0, analyses: 1, cached: 0 }, durationMs: 1200, startedAt: new Date(0).toISOString(),
        analyses: [{ analysis: 'hessian', analyzer: 'hessian', role: 'candidate', label: null, params: {}, analysisId: null, cached: false, durationMs: 1200, error: null }],
        rules: [rule('hessian.trace', 'pass', 3, 10), rule('hessian.topEigenvalues[0]', 'fail', 12, 10)],
      };
      await page.goto(`${svc.url}/#/gate`);
      await page.locator('[data-testid=gate-text]').fill(JSON.stringify(report));
      await page.getByRole('button', { name: 'Show report' }).click();
      assert.equal(await page.locator('[data-testid=gate-verdict] p.verdict').textContent(), 'failed');
      assert.equal(await page.locator('tr.rule').count(), 2);
      assert.deepEqual(await page.locator('tr.rule.fail td:nth-child(2)').allTextContents(), ['hessian.topEigenvalues[0] <= 10']);
      // Not a report: said so.
      await page.locator('[data-testid=gate-text]').fill('{"rules": 3}');
      await page.getByRole('button', { name: 'Show report' }).click();
      await page.locator('.error', { hasText: 'not a gate report' }).waitFor();
    });
  });

  it('ran every page without an uncaught script error', () => {
    assert.deepEqual(browser.pageErrors, []);
  });
});
