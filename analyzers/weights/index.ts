/**
 * `weights`: data-free Heavy-Tailed Self-Regularization analysis (Martin & Mahoney, JMLR 2021;
 * Nature Communications 2021): per weight matrix the ESD of WᵀW / N, its power-law tail
 * exponent alpha (CSN fit), alpha-weighted, norms, stable rank, Marchenko–Pastur soft rank and
 * spikes, and a shuffled-entries control; model-level means. Needs no dataset and never runs the
 * model: only its initializers and Constant nodes are read.
 */
import type { Analyzer, ParamValues } from '../types.js';
import { AppError } from '../../common/errors.js';
import { Rng } from '../../common/random.js';
import { extractWeights, type ConvMode } from './matrices.js';
import { analyzeLayer, needsRandomizedSvd } from './layer.js';
import { openMatMul, type MatMul } from '../../native/runtime/matmul.js';
import { summarize } from './summary.js';
import { esdSvg } from './plot.js';
import type { LayerSpectrum, WeightsResult } from './result.js';

export type { WeightsResult } from './result.js';

export interface WeightsParams extends ParamValues {
  convMode: ConvMode;
  minEigenvalues: number;
  minTail: number;
  maxFullDim: number;
  topK: number;
  shuffledControl: boolean;
  seed: number;
  tensors?: string;
}

export const weightsAnalyzer: Analyzer<WeightsParams, WeightsResult> = {
  name: 'weights',
  version: 1,
  description:
    'Data-free weight spectra (Heavy-Tailed Self-Regularization): per-layer ESD power-law alpha (CSN fit), alpha-weighted, norms, stable rank, Marchenko–Pastur soft rank and spikes, shuffled control.',
  needsDataset: false,
  params: [
    { name: 'convMode', type: 'enum', choices: ['slices', 'flatten'], default: 'slices', description: "Conv kernels as one [out, in] matrix per kernel position (WeightWatcher's convention) or one [out, in·k·k] matrix." },
    { name: 'minEigenvalues', type: 'int', default: 10, min: 2, max: 1_000_000, description: 'Layers whose ESD has fewer eigenvalues get no power-law fit (alpha null).' },
    { name: 'minTail', type: 'int', default: 5, min: 2, max: 1_000_000, description: 'Fewest eigenvalues a fitted tail may have (candidate xmin values leaving fewer are not tried).' },
    { name: 'maxFullDim', type: 'int', default: 1024, min: 1, max: 65_536, description: 'Full SVD when min(rows, cols) is at most this; above it, the top topK singular values by randomized SVD.' },
    { name: 'topK', type: 'int', default: 256, min: 1, max: 65_536, description: 'Singular values per matrix a randomized SVD computes.' },
    { name: 'shuffledControl', type: 'bool', default: true, description: 'Also compute the metrics of each W with its entries shuffled (correlation traps, randDistance).' },
    { name: 'seed', type: 'int', default: 0, min: 0, max: 2 ** 31 - 1, description: 'Seed of the shuffles and of randomized SVDs.' },
    { name: 'tensors', type: 'string', description: 'Only weight tensors whose name matches this regular expression.' },
  ],
  checkRequest(params) {
    if (params.tensors !== undefined) tensorFilter(params.tensors);
  },
  async run(ctx) {
    const { params } = ctx;
    const filter = params.tensors !== undefined ? tensorFilter(params.tensors) : null;
    const extracted = extractWeights(ctx.model.ir, params.convMode);
    const notes = [...extracted.skipped.map((s) => `skipped ${s}`)];
    const chosen = extracted.layers.filter((l) => !filter || filter.test(l.name));
    if (chosen.length === 0) {
      throw new AppError('BAD_MODEL', filter ? `no weight tensor matches /${params.tensors}/` : 'the model has no constant Gemm, MatMul or Conv weights to analyze', { skipped: extracted.skipped });
    }
    const rng = new Rng(params.seed);
    const layers: LayerSpectrum[] = [];
    // Large products of randomized SVDs run on ONNX Runtime: opened only when a layer needs it.
    const matmul: MatMul | undefined = chosen.some((w) => needsRandomizedSvd(w.rows, w.cols, params.maxFullDim)) ? await openMatMul() : undefined;
    try {
      for (const [i, w] of chosen.entries()) {
        if (ctx.signal.aborted) throw new AppError('CANCELLED', 'cancelled');
        ctx.progress(i / chosen.length, `layer ${i + 1}/${chosen.length}: ${w.name}`);
        if (!w.entries.some((v) => v !== 0)) {
          notes.push(`skipped ${w.name}: every entry is zero`);
          continue;
        }
        const a = await analyzeLayer(w, { ...params, rng, ...(matmul ? { matmul } : {}) });
        layers.push(a.spectrum);
        if (a.spectrum.svdMethod === 'randomized') notes.push(`${w.name}: top ${params.topK} singular values by randomized SVD (Halko et al. 2011, 2 power iterations); alpha and logAlphaNorm use those only`);
        if (ctx.artifacts) await ctx.artifacts.write(`esd_${i}_${w.name.replace(/[^A-Za-z0-9._-]/g, '_')}`.slice(0, 124) + '.svg', new TextEncoder().encode(esdSvg(a.spectrum, a.esd, a.shuffledEsd)), 'image/svg+xml');
        // Let the event loop breathe between layers (progress, cancellation).
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      await matmul?.release();
    }
    if (layers.length === 0) throw new AppError('BAD_MODEL', 'every weight tensor is all zeros');
    ctx.progress(1);
    return {
      convMode: params.convMode,
      parameterCount: layers.reduce((s, l) => s + l.parameterCount, 0),
      summary: summarize(layers),
      layers,
      notes,
    };
  },
};

function tensorFilter(pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (e) {
    throw new AppError('BAD_PARAMS', `param tensors is not a regular expression: ${(e as Error).message}`, { param: 'tensors' });
  }
}
