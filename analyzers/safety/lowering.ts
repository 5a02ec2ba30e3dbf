/**
 * What one op's lowering gets and gives (the registry in network.ts maps op types to these), and
 * the helpers the lowerings share: sparse rows, numpy broadcasting of constants, diagonal layers.
 * Weights are the model's float32 values widened exactly to float64.
 */
import { AppError } from '../../common/errors.js';
import type { Node } from '../../native/onnx/ir.js';
import { numel, type Tensor } from '../../native/onnx/tensor.js';
import type { AffineLayer, Layer } from './layers.js';

export interface LowerContext {
  node: Node;
  /** Shape of the node's computed input (batch dimension 1). */
  shape: number[];
  /** numel(shape). */
  n: number;
  /** Name of the computed input (the other inputs are constants). */
  current: string;
  /** Label of the layers made: "OpType name". */
  op: string;
  constOf(name: string): Tensor | undefined;
  push(layer: Layer): void;
}

/** Lowers one node: pushes its layers (none for pure relabelling) and returns its output shape. */
export type Lowering = (ctx: LowerContext) => number[];

/** Largest sparse layer (nonzeros) we build: 2e7 is ~240 MB of CSR. */
const MAX_NONZEROS = 2e7;

export const unsupported = (msg: string, ops?: string[]): AppError => new AppError('UNSUPPORTED_OP', msg, ops ? { ops } : undefined);

/** Float64 copy of a constant tensor's values. */
export function f64(t: Tensor): Float64Array {
  const out = new Float64Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(t.data[i]);
  return out;
}

/** Integer values of a constant tensor (shapes, axes, pads). */
export const intsOf = (t: Tensor): number[] => Array.from(t.data as ArrayLike<number | bigint>, Number);

export const strides = (shape: number[]): number[] => {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
};

/** Builds a CSR affine layer from per-row (col, val) lists. */
export class CsrBuilder {
  private ptr: number[] = [0];
  private cols: number[] = [];
  private vals: number[] = [];
  push(col: number, val: number): void {
    if (val === 0) return;
    if (this.cols.length >= MAX_NONZEROS) {
      throw unsupported(`a layer has more than ${MAX_NONZEROS} weights as a sparse matrix: too large for bound propagation`);
    }
    this.cols.push(col);
    this.vals.push(val);
  }
  endRow(): void {
    this.ptr.push(this.cols.length);
  }
  build(nIn: number, bias: Float64Array, op: string): AffineLayer {
    return {
      kind: 'affine',
      nIn,
      nOut: this.ptr.length - 1,
      rowPtr: Int32Array.from(this.ptr),
      col: Int32Array.from(this.cols),
      val: Float64Array.from(this.vals),
      bias,
      op,
    };
  }
}

/** Values of constant c broadcast (numpy rules) to shape, or null when the result shape is not `shape`. */
export function broadcastTo(c: Tensor, shape: number[]): Float64Array | null {
  const cd = c.dims;
  if (cd.length > shape.length) {
    // Leading ones may be dropped.
    const extra = cd.slice(0, cd.length - shape.length);
    if (extra.some((d) => d !== 1)) return null;
  }
  const r = shape.length;
  const cdims = new Array<number>(r).fill(1);
  for (let i = 0; i < Math.min(cd.length, r); i++) cdims[r - 1 - i] = cd[cd.length - 1 - i]!;
  for (let i = 0; i < r; i++) if (cdims[i] !== 1 && cdims[i] !== shape[i]) return null;
  const vals = f64(c);
  const cs = strides(cdims);
  const n = numel(shape);
  const out = new Float64Array(n);
  const idx = new Array<number>(r).fill(0);
  for (let k = 0; k < n; k++) {
    let off = 0;
    for (let a = 0; a < r; a++) if (cdims[a] !== 1) off += idx[a]! * cs[a]!;
    out[k] = vals[off]!;
    for (let a = r - 1; a >= 0; a--) {
      if (++idx[a]! < shape[a]!) break;
      idx[a] = 0;
    }
  }
  return out;
}

/** y_i = scale_i x_i + shift_i. */
export function diagonal(scale: Float64Array | null, shift: Float64Array | null, n: number, op: string): AffineLayer {
  const b = new CsrBuilder();
  for (let i = 0; i < n; i++) {
    b.push(i, scale ? scale[i]! : 1);
    b.endRow();
  }
  return b.build(n, shift ?? new Float64Array(n), op);
}
