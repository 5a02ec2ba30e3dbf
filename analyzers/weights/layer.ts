/** One layer's spectrum: eigenvalues of X = WᵀW / N over its matrices, their metrics and the shuffled control. */
import type { Rng } from '../../common/random.js';
import { esdDistance, esdMetrics, type EsdOptions } from './esd.js';
import { marchenkoPasturEdges } from './marchenko-pastur.js';
import { kernelMatrices, type WeightMatrices } from './matrices.js';
import type { LayerSpectrum, ShuffledControl } from './result.js';
import { singularValues, type SvdMethod } from './svd.js';
import type { MatMul } from '../../native/runtime/matmul.js';

export interface SpectrumOptions extends EsdOptions {
  /** Full SVD up to this min(rows, cols); randomized above. */
  maxFullDim: number;
  /** Singular values a randomized SVD computes per matrix. */
  topK: number;
  shuffledControl: boolean;
  rng: Rng;
  /** Products for randomized SVDs (needed only for matrices above maxFullDim). */
  matmul?: MatMul;
}

/** Whether a rows × cols matrix goes to the randomized SVD. */
export const needsRandomizedSvd = (rows: number, cols: number, maxFullDim: number): boolean => Math.min(rows, cols) > maxFullDim;

export interface Esd {
  /** Eigenvalues λ = σ²/N of every matrix of the layer (descending within each matrix). */
  lambdas: Float64Array;
  method: SvdMethod;
}

/** The ESD of matrices of shape rows × cols. */
export async function esdOf(matrices: Float64Array[], rows: number, cols: number, opts: SpectrumOptions): Promise<Esd> {
  const n = Math.max(rows, cols);
  const parts: Float64Array[] = [];
  let method: SvdMethod = 'full';
  for (const data of matrices) {
    const sv = await singularValues(data, rows, cols, opts.maxFullDim, { k: opts.topK, rng: opts.rng, ...(opts.matmul ? { matmul: opts.matmul } : {}) });
    method = sv.method;
    parts.push(sv.values.map((s) => (s * s) / n));
  }
  const lambdas = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    lambdas.set(p, at);
    at += p.length;
  }
  return { lambdas, method };
}

const sumOfSquares = (v: Float64Array) => v.reduce((s, x) => s + x * x, 0);

/** Fisher–Yates shuffle of a copy. */
function shuffled(v: Float64Array, rng: Rng): Float64Array {
  const out = Float64Array.from(v);
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export interface LayerAnalysis {
  spectrum: LayerSpectrum;
  esd: Float64Array;
  shuffledEsd: Float64Array | null;
}

export async function analyzeLayer(w: WeightMatrices, opts: SpectrumOptions): Promise<LayerAnalysis> {
  const n = Math.max(w.rows, w.cols);
  const m = Math.min(w.rows, w.cols);
  const squares = sumOfSquares(w.entries);
  const mp = marchenkoPasturEdges(n, m, squares / w.entries.length);
  // Σλ = ‖W‖_F² / N exactly, whatever part of the spectrum the SVD computed.
  const trace = squares / n;
  const { lambdas, method } = await esdOf(w.matrices, w.rows, w.cols, opts);
  const metrics = esdMetrics(lambdas, trace, mp, opts);
  let control: ShuffledControl | null = null;
  let shuffledEsd: Float64Array | null = null;
  if (opts.shuffledControl) {
    // Shuffling the whole tensor keeps its entry distribution and kills every correlation; the
    // conv reshape is then applied to the shuffled tensor exactly as to the real one.
    const perm = shuffled(w.entries, opts.rng);
    const matrices = w.matrices.length === 1 ? [perm] : kernelMatrices(perm, w.tensorShape, 'slices').matrices;
    shuffledEsd = (await esdOf(matrices, w.rows, w.cols, opts)).lambdas;
    const c = esdMetrics(shuffledEsd, trace, mp, opts);
    control = { lambdaMax: c.lambdaMax, alpha: c.alpha, numSpikes: c.numSpikes, mpSoftrank: c.mpSoftrank };
  }
  return {
    spectrum: {
      name: w.name,
      node: w.node,
      opType: w.opType,
      tensorShape: w.tensorShape,
      n,
      m,
      matrices: w.matrices.length,
      parameterCount: w.entries.length,
      svdMethod: method,
      ...metrics,
      mpBulkMin: mp.bulkMin,
      mpBulkMax: mp.bulkMax,
      mpSpikeThreshold: mp.spikeThreshold,
      shuffled: control,
      correlationTrap: control ? control.numSpikes > 0 : null,
      randDistance: shuffledEsd ? esdDistance(lambdas, shuffledEsd) : null,
    },
    esd: lambdas,
    shuffledEsd,
  };
}
