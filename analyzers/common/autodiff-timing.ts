/**
 * Times one batch through the forward pass, the loss gradient and one exact HVP (the products-only
 * graph the Hessian analyses run: H v without the loss and gradient outputs): the
 * `onnxscope bench` measurement and the autodiff section of `npm run bench`.
 * Median of `repeats` runs after `warmup` runs (the three interleaved); all three share the same batch.
 */
import { performance } from 'node:perf_hooks';
import { serializeModel, type Model } from '../../native/onnx/ir.js';
import { createSession, runSession } from '../../native/runtime/session.js';
import { LossRunner } from '../../native/autodiff/runner.js';
import { hvpGraph, parameterGradientGraph } from '../../native/autodiff/index.js';
import { datasetBatches, setupDifferentiable } from './differentiable.js';
import type { LoadedDataset } from '../types.js';
import { Rng } from '../../common/random.js';
import { median } from '../../common/median.js';

export interface AutodiffTiming {
  batch: number;
  forwardMs: number;
  gradientMs: number;
  hvpMs: number;
  parameterCount: number;
  precision: string;
  /** Process CPU time (all threads) of the same runs, medians: steadier than wall time on a loaded machine. */
  cpu: { forwardMs: number; gradientMs: number; hvpMs: number };
  /** With opts.probeBlock k > 1: one run of k probes (the block graph the trace uses) / k. */
  hvpPerProbeMs?: number;
  /** Node counts of the forward model and of the derived gradient and HVP graphs as emitted. */
  nodes: { forward: number; gradient: number; hvp: number };
}


/**
 * Medians of each function's time, run in turn within every repeat (forward, gradient, HVP,
 * forward, ...) so that load on a shared machine hits all of them alike and the ratios hold.
 */
async function timeInterleaved(fns: (() => Promise<unknown>)[], warmup: number, repeats: number): Promise<{ wall: number[]; cpu: number[] }> {
  for (let i = 0; i < warmup; i++) for (const fn of fns) await fn();
  const wall = fns.map(() => [] as number[]);
  const cpu = fns.map(() => [] as number[]);
  for (let i = 0; i < repeats; i++) {
    for (let k = 0; k < fns.length; k++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await fns[k]!();
      wall[k]!.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu[k]!.push((c.user + c.system) / 1000);
    }
  }
  return { wall: wall.map(median), cpu: cpu.map(median) };
}

export async function timeAutodiff(
  model: Model,
  dataset: LoadedDataset,
  opts: { batch?: number; warmup?: number; repeats?: number; precision?: 'auto' | 'float32' | 'float64'; probeBlock?: number } = {},
): Promise<AutodiffTiming> {
  const requested = opts.batch ?? Math.min(256, dataset.count);
  const setup = await setupDifferentiable(model, dataset, { batchSize: requested, precision: opts.precision ?? 'float32' });
  const batch = datasetBatches(dataset, setup, { maxSamples: setup.batchSize }).next().value!;
  const block = Math.max(1, opts.probeBlock ?? 1);
  const runner = await LossRunner.create(setup.prepared, { gradient: true, hvpProducts: true, hvpBlock: block, fixedParameters: true });
  // The forward pass is the model itself, as a user would run it.
  const forward = await createSession(serializeModel(setup.model));
  const feeds = { ...batch.inputs };
  const rng = new Rng(1);
  const v = Float64Array.from({ length: runner.dim }, () => rng.normal());
  const vs = block > 1 ? Array.from({ length: block }, () => Float64Array.from({ length: runner.dim }, () => rng.normal())) : [];
  const warmup = opts.warmup ?? 3;
  const repeats = opts.repeats ?? 10;
  try {
    const times = await timeInterleaved(
      [() => runSession(forward, feeds), () => runner.gradient(batch), () => runner.hvpProduct(batch, v), ...(block > 1 ? [() => runner.hvpProducts(batch, vs)] : [])],
      warmup,
      repeats,
    );
    const [forwardMs, gradientMs, hvpMs] = times.wall as [number, number, number];
    const [cpuF, cpuG, cpuH] = times.cpu as [number, number, number];
    const nodes = {
      forward: setup.model.graph.nodes.length,
      gradient: parameterGradientGraph(setup.prepared).model.graph.nodes.length,
      hvp: (await hvpGraph(setup.prepared, setup.prepared.params, { productsOnly: true })).model.graph.nodes.length,
    };
    const perProbe = block > 1 ? { hvpPerProbeMs: times.wall[3]! / block } : {};
    return { ...perProbe, batch: batch.labels.dims[0]!, forwardMs, gradientMs, hvpMs, parameterCount: runner.dim, precision: setup.prepared.dtype, cpu: { forwardMs: cpuF, gradientMs: cpuG, hvpMs: cpuH }, nodes };
  } finally {
    await runner.release();
    await forward.release();
  }
}
