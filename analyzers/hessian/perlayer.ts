/**
 * Per-tensor curvature (HAWQ, Dong et al. ICCV 2019: top eigenvalue per block; HAWQ-V2,
 * NeurIPS 2020: average trace per block): each parameter tensor's diagonal block H_ll,
 * reached by products with v supported on that tensor only (operator.ts blockOperator).
 * A block with at most `exactBlockSize` entries is assembled column by column (size
 * products) and decomposed exactly, which costs about what Lanczos plus a trace estimate
 * would and leaves no estimation error.
 */
import { Matrix } from 'ml-matrix';
import type { Rng } from '../../common/random.js';
import { applyAll, blockOperator, type LinearOperator } from './operator.js';
import { lanczosEigen } from './eigen.js';
import { hutchinson, hutchpp, type TraceEstimate } from './trace.js';
import { symmetricEigen } from './tridiag.js';

export interface LayerCurvature {
  name: string;
  shape: number[];
  size: number;
  topEigenvalue: number;
  residual: number;
  trace: TraceEstimate;
  /** trace / size: HAWQ-V2's sensitivity. */
  averageTrace: number;
  /** The block was assembled and decomposed exactly. */
  exact: boolean;
  hvps: number;
}

export interface LayerOptions {
  tol: number;
  maxIter: number;
  traceTol: number;
  maxProbes: number;
  traceMethod: 'hutchinson' | 'hutchpp';
  sketchSize: number;
  exactBlockSize: number;
  rng: Rng;
}

export async function layerCurvature(
  full: LinearOperator & { hvps: number },
  tensor: { name: string; shape: number[]; offset: number; size: number },
  opts: LayerOptions,
): Promise<LayerCurvature> {
  const before = full.hvps;
  const { name, shape, size } = tensor;
  const op = blockOperator(full, tensor.offset, tensor.size);
  const n = tensor.size;
  if (n <= opts.exactBlockSize) {
    const a = new Matrix(n, n);
    const cols = await applyAll(
      op,
      Array.from({ length: n }, (_, j) => {
        const e = new Float64Array(n);
        e[j] = 1;
        return e;
      }),
    );
    cols.forEach((col, j) => {
      for (let i = 0; i < n; i++) a.set(i, j, col[i]!);
    });
    let trace = 0;
    for (let i = 0; i < n; i++) trace += a.get(i, i);
    // Decompose the symmetric part; the residual is measured on the block as assembled.
    const sym = a.clone().add(a.transpose()).mul(0.5);
    const eig = symmetricEigen(sym);
    const top = eig.values[n - 1]!;
    const v = eig.vectors[n - 1]!;
    let residual = 0;
    for (let i = 0; i < n; i++) {
      let s = -top * v[i]!;
      for (let j = 0; j < n; j++) s += a.get(i, j) * v[j]!;
      residual += s * s;
    }
    return {
      name,
      shape,
      size,
      topEigenvalue: top,
      residual: Math.sqrt(residual),
      trace: { estimate: trace, stdErr: 0, probes: n, sketch: 0, exact: true },
      averageTrace: trace / n,
      exact: true,
      hvps: full.hvps - before,
    };
  }
  const eig = await lanczosEigen(op, { k: 1, which: 'largest', tol: opts.tol, maxIter: opts.maxIter, rng: opts.rng });
  const traceOpts = { tol: opts.traceTol, maxProbes: opts.maxProbes, rng: opts.rng, sketchSize: opts.sketchSize };
  const trace = opts.traceMethod === 'hutchpp' ? await hutchpp(op, traceOpts) : await hutchinson(op, traceOpts);
  return {
    name,
    shape,
    size,
    topEigenvalue: eig.top.value,
    residual: eig.top.residual,
    trace,
    averageTrace: trace.estimate / n,
    exact: false,
    hvps: full.hvps - before,
  };
}
