/**
 * Linear operators v -> H v. The Krylov methods (lanczos.ts, the power iteration in eigen.ts, trace.ts, density.ts)
 * only ever see this interface, so they are tested on dense matrices with known spectra and
 * run unchanged on the dataset Hessian and on its diagonal blocks.
 */
import { AppError } from '../../common/errors.js';
import type { Batch, LossRunner } from '../../native/autodiff/runner.js';
import { axpy } from './vec.js';

export interface LinearOperator {
  readonly dim: number;
  apply(v: Float64Array): Promise<Float64Array>;
  /** Products computed together cheaply (one runtime run per batch for the whole block). */
  readonly blockSize?: number;
  /** H v_1 .. H v_m; equal to m apply() calls, cheaper where blockSize > 1. */
  applyBlock?(vs: Float64Array[]): Promise<Float64Array[]>;
}

/** H v for every v, through applyBlock when the operator has one. */
export async function applyAll(op: LinearOperator, vs: Float64Array[]): Promise<Float64Array[]> {
  const block = op.applyBlock ? Math.max(1, op.blockSize ?? 1) : 1;
  const out: Float64Array[] = [];
  // In chunks of the block size, so no more than one block of full-length products is in flight.
  for (let i = 0; i < vs.length; i += block) {
    if (block === 1) out.push(await op.apply(vs[i]!));
    else out.push(...(await op.applyBlock!(vs.slice(i, i + block))));
  }
  return out;
}

/** A dense symmetric matrix (row-major n x n) as an operator: tests and exact blocks. */
export function denseOperator(a: Float64Array, n: number): LinearOperator & { count: number } {
  const op = {
    dim: n,
    count: 0,
    async apply(v: Float64Array) {
      op.count++;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        const row = i * n;
        for (let j = 0; j < n; j++) s += a[row + j]! * v[j]!;
        out[i] = s;
      }
      return out;
    },
  };
  return op;
}

/**
 * The diagonal block H[o:o+size, o:o+size] of a larger operator: v is embedded with zeros
 * outside the block, the product is read back on the block (one full H v per call).
 */
export function blockOperator(full: LinearOperator, offset: number, size: number): LinearOperator {
  const embed = (v: Float64Array) => {
    const wide = new Float64Array(full.dim);
    wide.set(v, offset);
    return wide;
  };
  return {
    dim: size,
    blockSize: full.blockSize ?? 1,
    async apply(v: Float64Array) {
      return (await full.apply(embed(v))).slice(offset, offset + size);
    },
    async applyBlock(vs: Float64Array[]) {
      return (await applyAll(full, vs.map(embed))).map((h) => h.slice(offset, offset + size));
    },
  };
}

/**
 * The Hessian of the dataset loss. The batches carry weights 1/M ('dataset-mean'), so the sum
 * of the per-batch H v is exactly the Hessian of the mean loss over the M samples times v
 * (PyHessian's dataloader_hv_product computes the same sum with weights |batch|/M).
 * Cancellation is checked before every batch, so an abort lands within one runtime call.
 */
export class DatasetHessian implements LinearOperator {
  readonly dim: number;
  /** Dataset-level products H v done so far. */
  hvps = 0;
  /** The loss and gradient at the parameters (sums over the batches), from the first product. */
  loss = NaN;
  gradient: Float64Array | null = null;

  constructor(
    private readonly runner: LossRunner,
    private readonly batches: () => Iterable<Batch>,
    private readonly signal: AbortSignal,
    private readonly onProduct: (count: number) => void = () => {},
  ) {
    this.dim = runner.dim;
  }

  /** Probes per runtime run (the runner's block graph, 1 without one). */
  get blockSize(): number {
    return this.runner.blockSize;
  }

  private checkAborted(): void {
    if (this.signal.aborted) {
      // A time budget aborts with its own AppError (TIMEOUT); anything else is a cancellation.
      throw this.signal.reason instanceof AppError ? this.signal.reason : new AppError('CANCELLED', 'hessian analysis cancelled');
    }
  }

  /**
   * H v_1 .. H v_m over the batches, the probes of a block sharing each run's primal forward
   * and backward (LossRunner.hvpProducts). Counts m products.
   */
  async applyBlock(vs: Float64Array[]): Promise<Float64Array[]> {
    const out: Float64Array[] = [];
    let rest = vs;
    // The first product also records the loss and gradient: apply() does that one.
    if (this.gradient === null && rest.length > 0) {
      out.push(await this.apply(rest[0]!));
      rest = rest.slice(1);
    }
    if (!this.runner.hasProducts || this.blockSize === 1 || rest.length <= 1) {
      for (const v of rest) out.push(await this.apply(v));
      return out;
    }
    const sums = rest.map(() => new Float64Array(this.dim));
    for (const batch of this.batches()) {
      this.checkAborted();
      const hs = await this.runner.hvpProducts(batch, rest);
      hs.forEach((h, j) => axpy(sums[j]!, 1, h));
    }
    for (let j = 0; j < rest.length; j++) this.onProduct(++this.hvps);
    return out.concat(sums);
  }

  async apply(v: Float64Array): Promise<Float64Array> {
    const out = new Float64Array(this.dim);
    const first = this.gradient === null;
    const grad = first ? new Float64Array(this.dim) : null;
    let loss = 0;
    for (const batch of this.batches()) {
      this.checkAborted();
      if (this.runner.hasProducts) {
        // The lean H v graph; the loss and gradient come once, from the gradient graph.
        axpy(out, 1, await this.runner.hvpProduct(batch, v));
        if (grad) {
          const g = await this.runner.gradient(batch);
          axpy(grad, 1, g.grad);
          loss += g.loss;
        }
        continue;
      }
      const r = await this.runner.hvp(batch, v);
      axpy(out, 1, r.hv);
      if (grad) {
        axpy(grad, 1, r.grad);
        loss += r.loss;
      }
    }
    if (grad) {
      this.gradient = grad;
      this.loss = loss;
    }
    this.hvps++;
    this.onProduct(this.hvps);
    return out;
  }
}
