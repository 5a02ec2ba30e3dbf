/**
 * Checks that gradient and HVP graphs built from shapes probed with a symbolic batch (dims that
 * follow the batch are null) compute, at a third batch size, the same numbers as graphs built
 * from that batch's static shapes (which checkGradient/checkHvp verify against finite
 * differences). Catches rules that bake a probed batch size into the graph.
 */
import { Rng } from '../../common/random.js';
import { cloneModel, type Model } from '../../native/onnx/ir.js';
import { tensor, type Tensor } from '../../native/onnx/tensor.js';
import { runModelOnce } from '../../native/runtime/session.js';
import { buildHvp } from '../../native/autodiff/hvp.js';
import { probeShapes } from '../../native/autodiff/shapes.js';


/** The model with a head s = sum_k sum(u_k * y_k), u_k fixed (as in checkHvp). */
async function withHead(model: Model, feeds: Record<string, Tensor>): Promise<Model> {
  const y0 = await runModelOnce(model, feeds);
  const rng = new Rng(5);
  const m = cloneModel(model);
  const terms: string[] = [];
  m.graph.outputs.forEach((o, k) => {
    // u broadcasts over the batch axis: shape [1, ...rest] so one u serves every batch size.
    const dims = [1, ...y0[o.name]!.dims.slice(1)];
    const u = tensor(y0[o.name]!.dtype, dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal()));
    m.graph.initializers.set(`head/u${k}`, u);
    m.graph.nodes.push({ opType: 'Mul', domain: '', name: `head/mul${k}`, inputs: [o.name, `head/u${k}`], outputs: [`head/p${k}`], attrs: {} });
    m.graph.nodes.push({ opType: 'ReduceSum', domain: '', name: `head/sum${k}`, inputs: [`head/p${k}`], outputs: [`head/s${k}`], attrs: { keepdims: { kind: 'int', value: 0 } } });
    terms.push(`head/s${k}`);
  });
  m.graph.nodes.push({ opType: 'Sum', domain: '', name: 'head/total', inputs: terms, outputs: ['head/s'], attrs: {} });
  m.graph.outputs = [{ name: 'head/s', dtype: y0[m.graph.outputs[0]!.name]!.dtype, shape: [] }];
  return m;
}

/**
 * Largest relative difference between gradient and H.v outputs of the symbolic-batch graph and
 * the static-shape graph at batch `runBatch`. `makeFeeds(batch)` must be deterministic per batch.
 */
export async function dynamicBatchDiff(
  model: Model,
  makeFeeds: (batch: number) => Record<string, Tensor>,
  wrt: string[],
  runBatch = 4,
): Promise<number> {
  const feeds = makeFeeds(runBatch);
  const headed = await withHead(model, feeds);
  const dynShapes = await probeShapes(headed, makeFeeds);
  const batchDims = [...dynShapes.values()].filter((i) => i.dims.includes(null)).length;
  if (batchDims === 0) throw new Error('dynamicBatchDiff: no dim follows the batch (give the model a symbolic batch dim)');
  const dyn = await buildHvp(headed, 'head/s', wrt, { shapes: dynShapes, feeds: makeFeeds });
  const stat = await buildHvp(headed, 'head/s', wrt, { feeds: () => feeds });
  const rng = new Rng(9);
  const run = async (h: typeof dyn) => {
    const f: Record<string, Tensor> = { ...feeds };
    for (const w of wrt) {
      const t = feeds[w]!;
      f[h.tangentInputs.get(w)!] = tensor(t.dtype, [...t.dims], Array.from({ length: t.data.length }, () => rng.normal()));
    }
    return { f, out: await runModelOnce(h.model, f) };
  };
  const a = await run(dyn);
  // The same tangent values for the static graph.
  const fs: Record<string, Tensor> = { ...feeds };
  for (const w of wrt) fs[stat.tangentInputs.get(w)!] = a.f[dyn.tangentInputs.get(w)!]!;
  const b = await runModelOnce(stat.model, fs);
  let worst = 0;
  for (const w of wrt) {
    for (const [x, y] of [
      [a.out[dyn.grads.get(w)!]!, b[stat.grads.get(w)!]!],
      [a.out[dyn.hvps.get(w)!]!, b[stat.hvps.get(w)!]!],
    ] as const) {
      let num = 0;
      let den = 0;
      for (let i = 0; i < x.data.length; i++) {
        num += (Number(x.data[i]) - Number(y.data[i])) ** 2;
        den += Number(y.data[i]) ** 2;
      }
      if (x.data.length !== y.data.length) throw new Error(`dynamicBatchDiff: ${w}: shapes [${x.dims}] vs [${y.dims}]`);
      worst = Math.max(worst, Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12));
    }
  }
  return worst;
}
