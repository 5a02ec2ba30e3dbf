/**
 * A lowered Network (network.ts) as dense layers z_q = W_q h_{q-1} + b_q, h_q = relu(z_q) (or
 * h_q = z_q), for the batched bounds of input-splitting branch and bound (dense-bounds.ts). Only
 * chains of affine and ReLU layers small enough to hold densely qualify.
 *
 * A run of consecutive affine layers is folded into one, but only when at most one of them is a
 * full matrix and the others are diagonal (the Sub/Add/MatMul/Add runs exporters write for
 * normalization and bias): then every folded weight is one product w_full * d1 * d2 and every
 * bias a short sum, each off by at most a few units of 2^-53 relative, far inside the outward
 * rounding of the bounds (ROUND_REL = 1e-9 relative, bounds.ts) and the proof margin (engine.ts).
 * Two full matrices in a row stay two layers (the second with relu = false).
 */
import type { AffineLayer, Network } from './network.js';

export interface DenseLayer {
  nIn: number;
  nOut: number;
  /** nOut x nIn, row-major. */
  W: Float64Array;
  b: Float64Array;
  relu: boolean;
}

export interface DenseNet {
  layers: DenseLayer[];
  numInputs: number;
  numOutputs: number;
  /** Widest layer (for work buffers). */
  width: number;
}

/** Largest dense matrix we build (entries). */
const MAX_DENSE = 4e6;

function isDiagonal(L: AffineLayer): boolean {
  if (L.nIn !== L.nOut) return false;
  for (let r = 0; r < L.nOut; r++) {
    for (let p = L.rowPtr[r]!; p < L.rowPtr[r + 1]!; p++) if (L.col[p] !== r) return false;
  }
  return true;
}

function toMatrix(L: AffineLayer): Float64Array {
  const W = new Float64Array(L.nOut * L.nIn);
  for (let r = 0; r < L.nOut; r++) for (let p = L.rowPtr[r]!; p < L.rowPtr[r + 1]!; p++) W[r * L.nIn + L.col[p]!] += L.val[p]!;
  return W;
}

/** Folds `next` (diagonal, or applied after a diagonal `cur`) onto cur: next(cur(x)). */
function compose(cur: DenseLayer, next: AffineLayer): DenseLayer {
  const W = toMatrix(next);
  const out = new Float64Array(next.nOut * cur.nIn);
  const b = new Float64Array(next.nOut);
  // One of the two is diagonal, so each entry of the product is a single term.
  for (let r = 0; r < next.nOut; r++) {
    let s = next.bias[r]!;
    for (let c = 0; c < next.nIn; c++) {
      const w = W[r * next.nIn + c]!;
      if (w === 0) continue;
      s += w * cur.b[c]!;
      for (let i = 0; i < cur.nIn; i++) out[r * cur.nIn + i] += w * cur.W[c * cur.nIn + i]!;
    }
    b[r] = s;
  }
  return { nIn: cur.nIn, nOut: next.nOut, W: out, b, relu: false };
}

/** The dense form, or null when the network has other layers or is too large. */
export function toDense(net: Network): DenseNet | null {
  const layers: DenseLayer[] = [];
  let cur: DenseLayer | null = null;
  let curFull = false;
  for (const L of net.layers) {
    if (L.kind === 'relu') {
      if (!cur) return null; // ReLU directly on the input or twice in a row: not this form
      cur.relu = true;
      layers.push(cur);
      cur = null;
      continue;
    }
    if (L.kind !== 'affine') return null;
    if (L.nIn * L.nOut > MAX_DENSE) return null;
    const diag = isDiagonal(L);
    if (cur && (diag || !curFull)) {
      cur = compose(cur, L);
      curFull ||= !diag;
      continue;
    }
    if (cur) layers.push(cur);
    cur = { nIn: L.nIn, nOut: L.nOut, W: toMatrix(L), b: Float64Array.from(L.bias), relu: false };
    curFull = !diag;
  }
  if (cur) layers.push(cur);
  if (layers.length === 0 || layers[layers.length - 1]!.relu) {
    // A trailing ReLU: add an identity output layer so the spec rows have an affine layer to start from.
    const n = layers.length ? layers[layers.length - 1]!.nOut : net.numInputs;
    const W = new Float64Array(n * n);
    for (let i = 0; i < n; i++) W[i * n + i] = 1;
    layers.push({ nIn: n, nOut: n, W, b: new Float64Array(n), relu: false });
  }
  let width = net.numInputs;
  for (const L of layers) width = Math.max(width, L.nIn, L.nOut);
  return { layers, numInputs: net.numInputs, numOutputs: net.numOutputs, width };
}

/** Float64 forward pass. */
export function denseForward(net: DenseNet, x: ArrayLike<number>): Float64Array {
  let h = Float64Array.from(x);
  for (const L of net.layers) {
    const z = new Float64Array(L.nOut);
    for (let r = 0; r < L.nOut; r++) {
      let s = L.b[r]!;
      const o = r * L.nIn;
      for (let c = 0; c < L.nIn; c++) s += L.W[o + c]! * h[c]!;
      z[r] = L.relu && s < 0 ? 0 : s;
    }
    h = z;
  }
  return h;
}

/** Gradient of a . y with respect to x at x (the active ReLU pattern's linear map). */
export function denseGradient(net: DenseNet, x: ArrayLike<number>, a: ArrayLike<number>): Float64Array {
  const masks: Uint8Array[] = [];
  let h = Float64Array.from(x);
  for (const L of net.layers) {
    const z = new Float64Array(L.nOut);
    const mask = new Uint8Array(L.nOut);
    for (let r = 0; r < L.nOut; r++) {
      let s = L.b[r]!;
      const o = r * L.nIn;
      for (let c = 0; c < L.nIn; c++) s += L.W[o + c]! * h[c]!;
      mask[r] = !L.relu || s > 0 ? 1 : 0;
      z[r] = mask[r] ? s : 0;
    }
    masks.push(mask);
    h = z;
  }
  let g = Float64Array.from(a);
  for (let q = net.layers.length - 1; q >= 0; q--) {
    const L = net.layers[q]!;
    const mask = masks[q]!;
    const next = new Float64Array(L.nIn);
    for (let r = 0; r < L.nOut; r++) {
      const v = mask[r] ? g[r]! : 0;
      if (v === 0) continue;
      const o = r * L.nIn;
      for (let c = 0; c < L.nIn; c++) next[c] += v * L.W[o + c]!;
    }
    g = next;
  }
  return g;
}
