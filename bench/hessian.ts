/**
 * Hessian bench on a real CNN: cnn_mnist_pytorch.onnx (21,840 parameters, float32 because the
 * CPU provider has no float64 Conv) over MNIST. Only 100 MNIST rows ship in
 * test/data/eran, so they are tiled to `samples` (default 1,000): every Hessian-vector
 * product is a pass over 1,000 samples, the cost a user pays, though the curvature is that of
 * the 100 distinct digits.
 *
 * Rows: dataset-level products per second; time and product count to the top-5 eigenvalues
 * with Lanczos (tol 1e-6) and with PyHessian's power iteration (tol 1e-3, maxIter 100); time
 * and products to a trace with 1% relative standard error, Hutchinson and Hutch++. Each row
 * is one run of the analyzer (sessions and batches built inside it, as in the service).
 */
import { performance } from 'node:perf_hooks';
import { serializeModel } from '../native/onnx/ir.js';
import { hessianAnalyzer, type HessianParams, type HessianResult } from '../analyzers/hessian/index.js';
import { DatasetHessian } from '../analyzers/hessian/operator.js';
import { validateParams } from '../analyzers/params.js';
import { datasetBatches, setupDifferentiable } from '../analyzers/common/differentiable.js';
import { LossRunner } from '../native/autodiff/runner.js';
import { Rng } from '../common/random.js';
import { mnist, testDataModel } from './fixtures.js';
import type { BenchSection } from './section.js';
import { modelShapes, randomDataset } from './model-shapes.js';
import { torchHessian } from './torch-autodiff.js';

export interface HessianBenchRow {
  task: string;
  method: string;
  hvps: number;
  seconds: number;
  'HVP/s': number;
  result: string;
  accuracy: string;
}

export interface HessianBenchOptions {
  samples?: number;
  batchSize?: number;
  /** Skip the power-iteration row (the slowest). */
  skipPower?: boolean;
}

const MODEL = 'onnxruntime/cnn_mnist_pytorch.onnx';

/**
 * Issue 16's Hessian goal: top-5 eigenvalues by Lanczos plus the trace to 1% standard error on
 * the small bench CNN (bench/model-shapes.ts) over 256 random samples in one batch, beside
 * PyHessian's top-5 power iteration and default trace in torch. Times are the analyzer's own
 * durationMs (sessions built inside it, as in the service).
 */
export async function smallCnnHessianRows(samples = 256): Promise<Record<string, string | number>[]> {
  const shape = modelShapes()[0]!;
  const model = { sha256: 'bench-small-cnn', bytes: serializeModel(shape.model), ir: shape.model };
  const dataset = randomDataset(shape.sample, samples);
  const run = async (raw: Record<string, unknown>): Promise<HessianResult> =>
    hessianAnalyzer.run({
      model,
      dataset,
      params: validateParams(hessianAnalyzer.params, { batchSize: samples, seed: 0, ...raw }) as HessianParams,
      progress: () => {},
      signal: new AbortController().signal,
    });
  const rows: Record<string, string | number>[] = [];
  const ours = (task: string, r: HessianResult, result: string) =>
    rows.push({ engine: 'onnxscope', task, hvps: r.hvpCount, seconds: round(r.durationMs / 1000), 'ms/HVP': round(r.durationMs / r.hvpCount), result });
  const both = await run({ compute: ['top', 'trace'], method: 'lanczos', topK: 5, traceTol: 0.01 });
  ours('top-5 lanczos + trace hutch++ 1% (maxProbes 500)', both, `${both.topEigenvalues!.map((e) => e.value.toPrecision(4)).join(' ')}; trace ${both.trace!.estimate.toPrecision(4)} +- ${both.trace!.stdErr.toPrecision(2)}`);
  // The same analysis with every product in its own run: what the probe blocks save.
  const single = await run({ compute: ['top', 'trace'], method: 'lanczos', topK: 5, traceTol: 0.01, probeBlock: 1 });
  ours('same, probeBlock 1 (one product per run)', single, `trace ${single.trace!.estimate.toPrecision(4)} +- ${single.trace!.stdErr.toPrecision(2)}`);
  const power = await run({ compute: ['top'], method: 'power', topK: 5 });
  ours('top-5 power tol 1e-3 (PyHessian settings)', power, power.topEigenvalues!.map((e) => e.value.toPrecision(4)).join(' '));
  const t = torchHessian(shape.model, dataset);
  if (t.parts) {
    for (const [task, p] of Object.entries(t.parts)) {
      const res = Array.isArray(p.result) ? p.result.map((x) => Number(x).toPrecision(4)).join(' ') : String(p.result);
      rows.push({ engine: 'torch', task, hvps: p.hvps, seconds: round(p.seconds), 'ms/HVP': round((1000 * p.seconds) / p.hvps), result: res });
    }
  }
  rows.push({ engine: '', task: t.note, hvps: '', seconds: '', 'ms/HVP': '', result: '' });
  return rows;
}

export async function benchHessian(opts: HessianBenchOptions = {}): Promise<HessianBenchRow[]> {
  const samples = opts.samples ?? 1000;
  const batchSize = opts.batchSize ?? 250;
  const ir = testDataModel(MODEL);
  const model = { sha256: 'bench', bytes: serializeModel(ir), ir };
  const dataset = mnist(samples);
  const rows: HessianBenchRow[] = [];
  const fmt = (x: number) => x.toPrecision(5);

  // Products per second: the dataset-level operator, one warm-up product then five timed.
  {
    const setup = await setupDifferentiable(ir, dataset, { batchSize });
    const runner = await LossRunner.create(setup.prepared, { gradient: false, hvp: true, fixedParameters: true });
    const batches = [...datasetBatches(dataset, setup)];
    const op = new DatasetHessian(runner, () => batches, new AbortController().signal);
    const rng = new Rng(1);
    const v = Float64Array.from({ length: op.dim }, () => rng.normal());
    await op.apply(v);
    const t0 = performance.now();
    const n = 5;
    for (let i = 0; i < n; i++) await op.apply(v);
    const seconds = (performance.now() - t0) / 1000;
    await runner.release();
    rows.push({ task: `H v over ${samples} samples`, method: `batch ${batchSize}`, hvps: n, seconds: round(seconds), 'HVP/s': round(n / seconds), result: `${Math.round((n * samples) / seconds)} samples/s`, accuracy: `${setup.prepared.dtype}, ${op.dim} parameters` });
  }

  const run = async (raw: Record<string, unknown>): Promise<HessianResult> =>
    hessianAnalyzer.run({
      model,
      dataset,
      params: validateParams(hessianAnalyzer.params, { batchSize, seed: 0, ...raw }) as HessianParams,
      progress: () => {},
      signal: new AbortController().signal,
    });
  const row = (task: string, method: string, r: HessianResult, result: string, accuracy: string): HessianBenchRow => ({
    task,
    method,
    hvps: r.hvpCount,
    seconds: round(r.durationMs / 1000),
    'HVP/s': round(r.hvpCount / (r.durationMs / 1000)),
    result,
    accuracy,
  });

  const lanczos = await run({ compute: ['top'], method: 'lanczos', topK: 5 });
  const top = lanczos.topEigenvalues!;
  rows.push(row('top-5 eigenvalues', 'lanczos tol 1e-6', lanczos, top.map((e) => fmt(e.value)).join(' '), `max residual/lambda1 ${(Math.max(...top.map((e) => e.residual)) / top[0]!.value).toExponential(1)}`));
  if (!opts.skipPower) {
    const power = await run({ compute: ['top'], method: 'power', topK: 5 });
    const p = power.topEigenvalues!;
    const gap = Math.max(...p.map((e, i) => Math.abs(e.value - top[i]!.value) / Math.abs(top[i]!.value)));
    rows.push(row('top-5 eigenvalues', 'power tol 1e-3 (PyHessian)', power, p.map((e) => fmt(e.value)).join(' '), `max residual/lambda1 ${(Math.max(...p.map((e) => e.residual)) / p[0]!.value).toExponential(1)}; max rel diff vs lanczos ${gap.toExponential(1)}`));
  }
  for (const traceMethod of ['hutchinson', 'hutchpp']) {
    const r = await run({ compute: ['trace'], traceMethod, traceTol: 0.01, maxProbes: 2000 });
    const t = r.trace!;
    rows.push(row('trace to 1% std. error', traceMethod, r, `${fmt(t.estimate)} +- ${t.stdErr.toPrecision(2)}`, `${t.probes} products${t.sketch ? ` (sketch ${t.sketch})` : ''}`));
  }
  return rows;
}

const round = (x: number) => Number(x.toPrecision(4));

export async function smallCnnHessianSection(): Promise<BenchSection> {
  return {
    title: 'hessian, small bench CNN over 256 random samples (batch 256, float32, CPU): ours beside PyHessian in torch',
    rows: await smallCnnHessianRows(256),
    notes: ['goal (issue 16): top-5 Lanczos + trace to 1% in less wall time than PyHessian top-5 power + its default trace'],
  };
}

export async function hessianSection(): Promise<BenchSection> {
  const samples = 1000;
  return {
    title: `hessian: cnn_mnist_pytorch.onnx, ${samples} MNIST samples (the 100 CSV rows tiled), batch 250, float32, CPU`,
    rows: (await benchHessian({ samples })) as unknown as Record<string, string | number>[],
    notes: ['hvps = dataset-level Hessian-vector products (each a pass over all samples), including the residual checks (one per eigenvalue).'],
  };
}
