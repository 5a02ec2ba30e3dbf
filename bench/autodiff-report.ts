/**
 * The autodiff section of `npm run bench`: gradient/forward and HVP/forward time ratios on a
 * CNN and an MLP at batch 1 and 256, per-example gradients per second, and the peak RSS of an
 * HVP on a model of about one million parameters (measured in a child process of its own).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { timeAutodiff, type AutodiffTiming } from '../analyzers/common/autodiff-timing.js';
import { modelShapes, randomDataset } from './model-shapes.js';
import { torchTimings, type TorchTiming } from './torch-autodiff.js';
import { mnist, testDataModel } from './fixtures.js';
import { LossRunner } from '../native/autodiff/runner.js';
import { datasetBatches, setupDifferentiable } from '../analyzers/common/differentiable.js';
import type { BenchSection } from './section.js';


const round = (x: number, digits = 2) => Number(x.toFixed(digits));

function timingRow(label: string, t: AutodiffTiming, torch?: TorchTiming): Record<string, string | number> {
  return {
    model: label,
    params: t.parameterCount,
    batch: t.batch,
    'forward ms': round(t.forwardMs, 3),
    'gradient ms': round(t.gradientMs, 3),
    'hvp ms': round(t.hvpMs, 3),
    'gradient/forward': round(t.gradientMs / t.forwardMs),
    'hvp/forward': round(t.hvpMs / t.forwardMs),
    ...(t.hvpPerProbeMs !== undefined ? { 'hvp/forward per probe, block 8': round(t.hvpPerProbeMs / t.forwardMs) } : {}),
    'cpu grad/fwd': round(t.cpu.gradientMs / t.cpu.forwardMs),
    'cpu hvp/fwd': round(t.cpu.hvpMs / t.cpu.forwardMs),
    'nodes fwd/grad/hvp': `${t.nodes.forward}/${t.nodes.gradient}/${t.nodes.hvp}`,
    ...(torch
      ? {
          'torch fwd ms': round(torch.forwardMs, 3),
          'torch grad/fwd': round(torch.gradientMs / torch.forwardMs),
          'torch hvp/fwd': round(torch.hvpMs / torch.forwardMs),
          'ours grad / torch grad': round(t.gradientMs / torch.gradientMs),
          'ours hvp / torch hvp': round(t.hvpMs / torch.hvpMs),
        }
      : {}),
  };
}

export async function autodiffSection(): Promise<BenchSection> {
  const rows: Record<string, string | number>[] = [];
  const torch = torchTimings(256);
  for (const shape of modelShapes()) {
    const t = await timeAutodiff(shape.model, randomDataset(shape.sample, 256), { batch: 256, probeBlock: 8 });
    rows.push(timingRow(shape.label, t, torch.timings?.[shape.label]));
  }
  const models: [string, string, number[]][] = [
    ['CNN (cnn_mnist_pytorch)', 'onnxruntime/cnn_mnist_pytorch.onnx', [1, 28, 28]],
    ['MLP 256x2 (mnistfc)', 'vnncomp2021/mnistfc/mnist-net_256x2.onnx', [784, 1]],
  ];
  for (const [label, path, shape] of models) {
    for (const batch of [1, 256]) {
      rows.push(timingRow(label, await timeAutodiff(testDataModel(path), mnist(batch, shape), { batch })));
    }
  }
  return {
    title: 'autodiff: one batch, float32, CPU provider (medians of 10 interleaved runs after 3 warm-ups)',
    rows,
    notes: [
      'goal: gradient <= 3x and HVP <= 5x the forward time of the same batch',
      'the first four rows are the model shapes of bench/model-shapes.ts, random weights and data',
      'hvp: the products-only HVP graph (H v alone, no loss or gradient outputs), the one the Hessian analyses run',
      'per probe, block 8: one run of the 8-probe graph (8 tangent passes over one primal forward and backward, what the trace probes use) / 8',
      'cpu ratios: process CPU time of the same runs (all threads), steadier than wall time when the machine is shared',
      torch.note,
    ],
  };
}

export async function perExampleSection(): Promise<BenchSection> {
  const rows: Record<string, string | number>[] = [];
  const data = mnist(256);
  for (const batchSize of [1, 64]) {
    const setup = await setupDifferentiable(testDataModel('onnxruntime/cnn_mnist_pytorch.onnx'), data, { batchSize, precision: 'float32' });
    const runner = await LossRunner.create(setup.prepared, { fixedParameters: true });
    const batches = [...datasetBatches(data, setup, { maxSamples: 128, weighting: 'sum' })];
    await runner.perExampleStats(batches[0]!); // builds the graph and warms up
    const t0 = performance.now();
    let n = 0;
    for (const b of batches) n += (await runner.perExampleStats(b)).batch;
    const seconds = (performance.now() - t0) / 1000;
    rows.push({ model: 'CNN (cnn_mnist_pytorch)', batch: batchSize, examples: n, 'per-example gradients/s': round(n / seconds, 1) });
    await runner.release();
  }
  return { title: 'per-example gradients (coherence): Gram matrix and second moments, no per-example gradient stored', rows };
}

/** Peak RSS of building and running an HVP for a 784-1024-256-10 MLP (1.07M parameters), in a fresh process. */
export function hvpMemorySection(): BenchSection {
  const child = fileURLToPath(new URL('./hvp-rss-child.js', import.meta.url));
  const r = spawnSync(process.execPath, [child], { encoding: 'utf8' });
  if (r.status !== 0) return { title: 'HVP peak RSS', rows: [], notes: [`child failed: ${r.stderr.split('\n').slice(-3).join(' ')}`] };
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
  return {
    title: 'HVP peak RSS on a 1.07M-parameter MLP (batch 64, float32)',
    rows: [{ parameters: out.parameters!, 'baseline RSS MB': round(out.baselineMB!, 1), 'peak RSS MB': round(out.peakMB!, 1), 'hvp ms': round(out.hvpMs!, 1) }],
  };
}
