/**
 * Bound propagation over a lowered Network (network.ts), in Float64:
 *  - IBP, interval bound propagation (Gowal et al. 2018): per layer, l' = b + W+ l + W- u.
 *  - CROWN / DeepPoly backward linear relaxation (Zhang et al. 2018 "Efficient Neural Network
 *    Robustness Certification with General Activation Functions"; Singh et al. 2019 DeepPoly):
 *    a linear target C v_k is pushed back layer by layer to the input box, replacing every
 *    nonlinearity y = f(z) by linear bounds a_L z + b_L <= y <= a_U z + b_U valid on z in [l, u]
 *    (the lower one where the coefficient is positive, the upper one where it is negative),
 *    then minimized over the box in closed form.
 * Relaxations: ReLU, unstable: upper chord u(z-l)/(u-l), lower slope 1 if u > -l else 0 (CROWN's
 * adaptive choice). MaxPool (DeepPoly): lower y >= z_j* (j* = largest lower bound), upper the
 * identity on z_j* when that input dominates every other, else the constant max u. Sigmoid/Tanh:
 * on [l,u] inside the concave (l >= 0) or convex (u <= 0) part: chord on one side, tangent at
 * the midpoint on the other; across 0, two parallel lines of slope min(f'(l), f'(u)) through
 * (l, f(l)) and (u, f(u)) (f' is unimodal with its peak at 0, so every chord is steeper).
 * Intermediate bounds (inputs of nonlinear layers) use CROWN when an earlier nonlinear layer
 * exists (only for neurons IBP leaves unstable, for ReLU), intersected with IBP.
 *
 * Floating point: every bound we compute is moved outward by ROUND_REL * (|v| + S) + ROUND_ABS,
 * where S is the sum of the absolute values of the terms that formed v. Float64 round-off of a
 * sum of n terms is below n * 2^-53 * S (Higham, "Accuracy and Stability of Numerical
 * Algorithms", 3.1), about 1e-12 S for the widths here; ROUND_REL = 1e-9 is 1000x that and
 * also covers the round-off inside the back-substituted coefficients.
 */
import type { Layer, Network } from './network.js';

export const ROUND_REL = 1e-9;
export const ROUND_ABS = 1e-12;

export interface Box {
  lo: Float64Array;
  hi: Float64Array;
}

/** Per ReLU layer: +1 forces z >= 0 (active), -1 forces z <= 0 (inactive), 0 free. */
export type Splits = Map<number, Int8Array>;

export interface LayerBounds {
  /** Bounds of the input of each layer (index = layer index); null where not needed (affine). */
  pre: (Box | null)[];
  /** False when the split constraints make the domain empty (lo > hi somewhere). */
  feasible: boolean;
}

/** Largest dense coefficient matrix (entries) an intermediate CROWN pass may build; beyond, IBP. */
export const MAX_COEFFICIENTS = 3e7;

const width = (L: Layer): number => (L.kind === 'affine' || L.kind === 'maxpool' ? Math.max(L.nIn, L.nOut) : L.n);

export interface Options {
  /** 'both' (default): intermediate bounds take the better of the two ReLU lower slopes, per neuron. */
  lowerSlopes?: 'adaptive' | 'both';
  /** Run CROWN for intermediate layers with at most this many neurons needing it (else IBP). */
  crownMaxRows?: number;
}

const outward = (v: number, s: number): number => ROUND_REL * (Math.abs(v) + s) + ROUND_ABS;

/** IBP through one layer from the bounds of its input. */
export function ibpLayer(L: Layer, lo: Float64Array, hi: Float64Array): Box {
  switch (L.kind) {
    case 'affine': {
      const l = new Float64Array(L.nOut);
      const u = new Float64Array(L.nOut);
      for (let r = 0; r < L.nOut; r++) {
        let a = L.bias[r]!;
        let b = a;
        let s = Math.abs(a);
        for (let p = L.rowPtr[r]!; p < L.rowPtr[r + 1]!; p++) {
          const w = L.val[p]!;
          const c = L.col[p]!;
          if (w > 0) {
            a += w * lo[c]!;
            b += w * hi[c]!;
          } else {
            a += w * hi[c]!;
            b += w * lo[c]!;
          }
          s += Math.abs(w) * Math.max(Math.abs(lo[c]!), Math.abs(hi[c]!));
        }
        l[r] = a - outward(a, s);
        u[r] = b + outward(b, s);
      }
      return { lo: l, hi: u };
    }
    case 'relu':
      return { lo: lo.map((v) => Math.max(v, 0)), hi: hi.map((v) => Math.max(v, 0)) };
    case 'sigmoid':
    case 'tanh': {
      const f = activation(L.kind);
      return { lo: lo.map((v) => f(v) - outward(f(v), 0)), hi: hi.map((v) => f(v) + outward(f(v), 0)) };
    }
    case 'maxpool': {
      const l = new Float64Array(L.nOut).fill(-Infinity);
      const u = new Float64Array(L.nOut).fill(-Infinity);
      for (let o = 0; o < L.nOut; o++) {
        for (let p = L.ptr[o]!; p < L.ptr[o + 1]!; p++) {
          l[o] = Math.max(l[o]!, lo[L.idx[p]!]!);
          u[o] = Math.max(u[o]!, hi[L.idx[p]!]!);
        }
      }
      return { lo: l, hi: u };
    }
  }
}

export const activation = (kind: 'sigmoid' | 'tanh') => (kind === 'sigmoid' ? (z: number) => 1 / (1 + Math.exp(-z)) : Math.tanh);
const derivative = (kind: 'sigmoid' | 'tanh') =>
  kind === 'sigmoid'
    ? (z: number) => {
        const s = 1 / (1 + Math.exp(-z));
        return s * (1 - s);
      }
    : (z: number) => 1 - Math.tanh(z) ** 2;

/** Linear relaxation of one neuron: aL z + bL <= f(z) <= aU z + bU on [l, u]. */
interface Relax {
  aL: number;
  bL: number;
  aU: number;
  bU: number;
}

/**
 * Lower slope of an unstable ReLU: 'adaptive' (CROWN: 1 if u > -l else 0, the smaller-area
 * triangle) or 'parallel' (DeepPoly-style u / (u - l), parallel to the upper chord). Any slope
 * in [0, 1] is sound; which is tighter depends on the neuron, so callers may try both.
 */
export type LowerSlope = 'adaptive' | 'parallel';

function reluRelax(l: number, u: number, lower: LowerSlope = 'adaptive'): Relax {
  if (u <= 0) return { aL: 0, bL: 0, aU: 0, bU: 0 };
  if (l >= 0) return { aL: 1, bL: 0, aU: 1, bU: 0 };
  const s = u / (u - l);
  // The chord passes through (l, 0) and (u, u); nudged up so round-off in s cannot cut the graph.
  const aL = lower === 'adaptive' ? (u > -l ? 1 : 0) : Math.min(1, Math.max(0, s));
  return { aL, bL: 0, aU: s, bU: -s * l + outward(s * l, u) };
}

function sShapeRelax(kind: 'sigmoid' | 'tanh', l: number, u: number): Relax {
  const f = activation(kind);
  const fl = f(l);
  const fu = f(u);
  const constant = { aL: 0, bL: fl - outward(fl, 1), aU: 0, bU: fu + outward(fu, 1) };
  if (u - l < 1e-6) return constant;
  if (l < 0 && u > 0) {
    // Across 0, f' is smallest at an end point, so d = min(f'(l), f'(u)) bounds the slope of
    // every chord from below: f(x) >= f(l) + d (x - l) and f(x) <= f(u) + d (x - u) on [l, u].
    const dv = derivative(kind);
    const d = Math.min(dv(l), dv(u)) * (1 - 1e-9);
    const nudge = 1e-10 * (Math.abs(fl) + Math.abs(fu) + d * (Math.abs(l) + Math.abs(u)) + 1);
    return { aL: d, bL: fl - d * l - nudge, aU: d, bU: fu - d * u + nudge };
  }
  const chord = (fu - fl) / (u - l);
  const m = 0.5 * (l + u);
  const fm = f(m);
  const d = derivative(kind)(m);
  const scale = Math.abs(fl) + Math.abs(fu) + Math.abs(chord) * (Math.abs(l) + Math.abs(u)) + 1;
  const nudge = 1e-10 * scale;
  const chordLine = { a: chord, b: fl - chord * l };
  const tangent = { a: d, b: fm - d * m };
  if (l >= 0) return { aL: chordLine.a, bL: chordLine.b - nudge, aU: tangent.a, bU: tangent.b + nudge };
  return { aL: tangent.a, bL: tangent.b - nudge, aU: chordLine.a, bU: chordLine.b + nudge };
}

export interface BackwardResult {
  /** Lower bound of each target row over the box. */
  lower: Float64Array;
  /** Coefficients at the input (m x nInput): the row's minimizer is lo where > 0 else hi. */
  inputCoef: Float64Array;
  /** Per ReLU layer index: the coefficients met at its output (m x n), for branching scores. */
  reluCoef: Map<number, Float64Array>;
}

/**
 * Lower bounds of C v over the box, v = output of layer `upto - 1` (the input when upto = 0).
 * C is m x n row-major. `pre` holds the input bounds of every nonlinear layer below upto.
 */
export function backward(
  net: Network,
  upto: number,
  C: Float64Array,
  m: number,
  pre: (Box | null)[],
  box: Box,
  keepReluCoef = false,
  lowerSlope: LowerSlope = 'adaptive',
): BackwardResult {
  let A = C;
  let n = C.length / m;
  const cst = new Float64Array(m);
  const cstAbs = new Float64Array(m);
  const reluCoef = new Map<number, Float64Array>();
  for (let k = upto - 1; k >= 0; k--) {
    const L = net.layers[k]!;
    if (L.kind === 'affine') {
      const next = new Float64Array(m * L.nIn);
      for (let i = 0; i < m; i++) {
        const rowA = i * n;
        const rowN = i * L.nIn;
        let c = cst[i]!;
        let ca = cstAbs[i]!;
        for (let r = 0; r < L.nOut; r++) {
          const a = A[rowA + r]!;
          if (a === 0) continue;
          c += a * L.bias[r]!;
          ca += Math.abs(a * L.bias[r]!);
          for (let p = L.rowPtr[r]!; p < L.rowPtr[r + 1]!; p++) next[rowN + L.col[p]!] += a * L.val[p]!;
        }
        cst[i] = c;
        cstAbs[i] = ca;
      }
      A = next;
      n = L.nIn;
      continue;
    }
    const b = pre[k]!;
    if (L.kind === 'maxpool') {
      const next = new Float64Array(m * L.nIn);
      for (let o = 0; o < L.nOut; o++) {
        let best = -1;
        let bestLo = -Infinity;
        let maxHi = -Infinity;
        for (let p = L.ptr[o]!; p < L.ptr[o + 1]!; p++) {
          const j = L.idx[p]!;
          if (b.lo[j]! > bestLo) {
            bestLo = b.lo[j]!;
            best = j;
          }
          maxHi = Math.max(maxHi, b.hi[j]!);
        }
        let othersHi = -Infinity;
        for (let p = L.ptr[o]!; p < L.ptr[o + 1]!; p++) if (L.idx[p] !== best) othersHi = Math.max(othersHi, b.hi[L.idx[p]!]!);
        const dominant = bestLo >= othersHi;
        for (let i = 0; i < m; i++) {
          const a = A[i * n + o]!;
          if (a === 0) continue;
          if (a > 0 || dominant) next[i * L.nIn + best] += a;
          else {
            cst[i] += a * maxHi;
            cstAbs[i] += Math.abs(a * maxHi);
          }
        }
      }
      A = next;
      n = L.nIn;
      continue;
    }
    // Elementwise: same width in and out.
    if (keepReluCoef && L.kind === 'relu') reluCoef.set(k, A.slice());
    const next = new Float64Array(m * n);
    for (let j = 0; j < n; j++) {
      const r = L.kind === 'relu' ? reluRelax(b.lo[j]!, b.hi[j]!, lowerSlope) : sShapeRelax(L.kind, b.lo[j]!, b.hi[j]!);
      for (let i = 0; i < m; i++) {
        const a = A[i * n + j]!;
        if (a === 0) continue;
        if (a > 0) {
          next[i * n + j] = a * r.aL;
          cst[i] += a * r.bL;
          cstAbs[i] += Math.abs(a * r.bL);
        } else {
          next[i * n + j] = a * r.aU;
          cst[i] += a * r.bU;
          cstAbs[i] += Math.abs(a * r.bU);
        }
      }
    }
    A = next;
  }
  const lower = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let v = cst[i]!;
    let s = cstAbs[i]!;
    for (let j = 0; j < n; j++) {
      const a = A[i * n + j]!;
      if (a === 0) continue;
      v += a > 0 ? a * box.lo[j]! : a * box.hi[j]!;
      s += Math.abs(a) * Math.max(Math.abs(box.lo[j]!), Math.abs(box.hi[j]!));
    }
    lower[i] = v - outward(v, s);
  }
  return { lower, inputCoef: A, reluCoef };
}

/**
 * Bounds of the input of every nonlinear layer over the box, with the split constraints
 * applied (a split clamps the ReLU input's bounds to its side).
 */
export function layerBounds(
  net: Network,
  box: Box,
  splits: Splits = new Map(),
  opts: Options = {},
  /**
   * Bounds of a parent domain on the same box: layers below `upto` keep them (a child's bounds
   * can only be tighter, so the parent's stay sound); only later layers are recomputed.
   */
  reuse?: { pre: (Box | null)[]; upto: number },
): LayerBounds {
  const maxRows = opts.crownMaxRows ?? 4096;
  const pre: (Box | null)[] = new Array(net.layers.length).fill(null);
  let cur: Box = { lo: box.lo, hi: box.hi };
  let seenNonlinear = false;
  for (let k = 0; k < net.layers.length; k++) {
    const L = net.layers[k]!;
    if (L.kind !== 'affine') {
      const kept = reuse && k < reuse.upto ? reuse.pre[k] : null;
      // Kept bounds replace the interval (which may not even have been computed: see below).
      const lo = (kept ?? cur).lo.slice();
      const hi = (kept ?? cur).hi.slice();
      if (!kept && seenNonlinear) {
        // A parent's bounds hold here too: start from their intersection with IBP, so neurons
        // the parent already knew to be stable need no CROWN row.
        const parent = reuse?.pre[k];
        if (parent) {
          for (let j = 0; j < lo.length; j++) {
            lo[j] = Math.max(lo[j]!, parent.lo[j]!);
            hi[j] = Math.min(hi[j]!, parent.hi[j]!);
          }
        }
        // CROWN rows only where they can change something: for ReLU, the IBP-unstable neurons.
        const rows: number[] = [];
        for (let j = 0; j < lo.length; j++) if (L.kind !== 'relu' || (lo[j]! < 0 && hi[j]! > 0)) rows.push(j);
        // Dense coefficient matrices are 2 rows x widest layer below k: keep them under ~240 MB.
        let widest = net.numInputs;
        for (let q = 0; q < k; q++) widest = Math.max(widest, width(net.layers[q]!));
        if (rows.length > 0 && rows.length <= maxRows && 2 * rows.length * widest <= MAX_COEFFICIENTS) {
          const n = lo.length;
          const m = rows.length;
          const C = new Float64Array(2 * m * n);
          rows.forEach((j, i) => {
            C[i * n + j] = 1;
            C[(m + i) * n + j] = -1;
          });
          for (const slope of opts.lowerSlopes === 'adaptive' ? (['adaptive'] as const) : (['adaptive', 'parallel'] as const)) {
            const r = backward(net, k, C, 2 * m, pre, box, false, slope);
            rows.forEach((j, i) => {
              lo[j] = Math.max(lo[j]!, r.lower[i]!);
              hi[j] = Math.min(hi[j]!, -r.lower[m + i]!);
            });
          }
        }
      }
      const s = splits.get(k);
      if (s) {
        for (let j = 0; j < lo.length; j++) {
          if (s[j] === 1) lo[j] = Math.max(lo[j]!, 0);
          else if (s[j] === -1) hi[j] = Math.min(hi[j]!, 0);
        }
      }
      for (let j = 0; j < lo.length; j++) if (lo[j]! > hi[j]!) return { pre, feasible: false };
      pre[k] = { lo, hi };
      seenNonlinear = true;
      cur = ibpLayer(L, lo, hi);
    } else {
      // Skip affine layers whose interval would be replaced by kept bounds of the next nonlinear layer.
      let next = k + 1;
      while (next < net.layers.length && net.layers[next]!.kind === 'affine') next++;
      const skip = reuse !== undefined && next < reuse.upto && reuse.pre[next] !== null && reuse.pre[next] !== undefined;
      if (!skip) cur = ibpLayer(L, cur.lo, cur.hi);
    }
  }
  return { pre, feasible: true };
}

/** IBP-only bounds of the network output (used as a cheap cross-check and for magnitudes). */
export function ibpOutput(net: Network, box: Box): Box {
  let cur: Box = box;
  for (const L of net.layers) cur = ibpLayer(L, cur.lo, cur.hi);
  return cur;
}
