// Runs in its own process so its peak RSS (getrusage maxrss) belongs to the HVP alone.
import { performance } from 'node:perf_hooks';
import { Rng } from '../common/random.js';
import { tensor } from '../native/onnx/tensor.js';
import { int, type Model } from '../native/onnx/ir.js';
import { prepareLossModel } from '../native/autodiff/index.js';
import { LossRunner } from '../native/autodiff/runner.js';

const rng = new Rng(3);
const randn = (dims: number[], s: number) => tensor('float32', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => s * rng.normal()));
const layers = [784, 1024, 256, 10];
const model: Model = {
  irVersion: 9,
  opsets: new Map([['', 18]]),
  producerName: 'bench',
  producerVersion: '0',
  graph: { name: 'mlp', nodes: [], inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 784] }], outputs: [], initializers: new Map(), valueInfo: new Map() },
};
let h = 'x';
for (let l = 0; l + 1 < layers.length; l++) {
  const [i, o] = [layers[l]!, layers[l + 1]!];
  model.graph.initializers.set(`W${l}`, randn([o, i], 1 / Math.sqrt(i)));
  model.graph.initializers.set(`b${l}`, randn([o], 0.1));
  model.graph.nodes.push({ opType: 'Gemm', domain: '', name: `fc${l}`, inputs: [h, `W${l}`, `b${l}`], outputs: [`z${l}`], attrs: { transB: int(1) } });
  h = `z${l}`;
  if (l + 2 < layers.length) {
    model.graph.nodes.push({ opType: 'Relu', domain: '', name: `relu${l}`, inputs: [h], outputs: [`a${l}`], attrs: {} });
    h = `a${l}`;
  }
}
model.graph.outputs.push({ name: h, dtype: 'float32', shape: ['N', 10] });
const baselineMB = process.resourceUsage().maxRSS / 1024;
const prepared = await prepareLossModel(model, { precision: 'float32' });
const runner = await LossRunner.create(prepared, { gradient: false, hvp: true, fixedParameters: true });
const batch = { inputs: { x: randn([64, 784], 1) }, labels: tensor('int64', [64], Array.from({ length: 64 }, (_, i) => i % 10)) };
const v = Float64Array.from({ length: runner.dim }, () => rng.normal());
await runner.hvp(batch, v);
const t0 = performance.now();
await runner.hvp(batch, v);
const hvpMs = performance.now() - t0;
console.log(JSON.stringify({ parameters: runner.dim, baselineMB, peakMB: process.resourceUsage().maxRSS / 1024, hvpMs }));
await runner.release();
