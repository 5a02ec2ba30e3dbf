/**
 * The weights section of `npm run bench`: the analyzer on the real models of test/data (mean
 * alpha, alpha-weighted, time), and singular values of Gaussian matrices up to 4096 × 4096 —
 * full SVD (ml-matrix) at the sizes the default `maxFullDim` (1024) allows, and the randomized
 * top-256 that the analyzer uses above it (products on ONNX Runtime).
 */
import { Rng } from '../common/random.js';
import { openMatMul } from '../native/runtime/matmul.js';
import { validateParams } from '../analyzers/params.js';
import { weightsAnalyzer, type WeightsParams } from '../analyzers/weights/index.js';
import { fullSingularValues, randomizedSingularValues } from '../analyzers/weights/svd.js';
import { loadTestModel } from '../test/helpers/test-data.js';
import type { BenchSection } from './section.js';

const MODELS = [
  'onnxruntime/mnist.onnx',
  'onnxruntime/cnn_mnist_pytorch.onnx',
  'vnncomp2021/mnistfc/mnist-net_256x2.onnx',
  'vnncomp2021/verivital/Convnet_avgpool.onnx',
  'vnncomp2021/verivital/Convnet_maxpool.onnx',
  'vnncomp2021/acasxu/ACASXU_run2a_1_1_batch_2000.onnx',
];

const fmt = (v: number | null) => (v === null ? 'n/a' : Number(v.toFixed(3)));

export async function weightsSection(): Promise<BenchSection> {
  const rows: BenchSection['rows'] = [];
  for (const file of MODELS) {
    const t0 = performance.now();
    const r = await weightsAnalyzer.run({
      model: loadTestModel(file),
      dataset: null,
      params: validateParams(weightsAnalyzer.params, {}) as WeightsParams,
      progress: () => {},
      signal: new AbortController().signal,
    });
    rows.push({ case: file, layers: r.summary.layers, alpha: fmt(r.summary.alpha), alphaWeighted: fmt(r.summary.alphaWeighted), spikes: r.summary.numSpikes, seconds: Number(((performance.now() - t0) / 1000).toFixed(2)) });
  }
  const rng = new Rng(1);
  const matmul = await openMatMul();
  for (const [n, m, how] of [[1024, 1024, 'full SVD'], [2048, 1024, 'full SVD'], [4096, 4096, 'randomized top 256']] as const) {
    const a = Float64Array.from({ length: n * m }, () => rng.normal());
    const t0 = performance.now();
    const s = how === 'full SVD' ? fullSingularValues(a, n, m) : await randomizedSingularValues(a, n, m, { k: 256, rng, matmul });
    // σ_max of an n × m standard Gaussian matrix is about √n + √m.
    rows.push({ case: `${n}×${m} Gaussian, ${how}`, layers: 1, alpha: '', alphaWeighted: '', spikes: `σmax ${s[0]!.toFixed(1)} (≈${(Math.sqrt(n) + Math.sqrt(m)).toFixed(1)})`, seconds: Number(((performance.now() - t0) / 1000).toFixed(2)) });
  }
  await matmul.release();
  return { title: 'weights: data-free ESD metrics', rows, notes: ['default params (slices, shuffled control on); seconds include the shuffled control'] };
}
