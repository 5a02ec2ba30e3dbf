/**
 * Bounds for many input boxes at once on a DenseNet (dense.ts): the computation behind
 * input-splitting branch and bound (inputsplit.ts). For a batch of B boxes:
 *  1. every ReLU layer's input z_k gets interval bounds (IBP, exact for the first layer), then
 *     CROWN (Zhang et al. 2018) for the neurons IBP leaves unstable: the rows +-W_k[j,:] of all
 *     boxes are stacked into one dense matrix and pushed back through the layers below together,
 *     each row relaxing the ReLUs with its own box's bounds; the result is intersected with IBP;
 *  2. the output rows (the property's constraints a.y) are pushed back the same way, once with
 *     CROWN's adaptive lower ReLU slope and once with the parallel slope u/(u-l), each row keeping
 *     its better bound, then with slopes optimized per row (alpha-CROWN, optimizeSlopes).
 * Soundness in floating point is the same as bounds.ts: each concretized bound is moved outward
 * by ROUND_REL * (|v| + S) + ROUND_ABS (S: absolute sum of its terms), the ReLU chord intercept is
 * nudged up. Any lower slope in [0, 1] is a sound relaxation, so optimized slopes need no proof.
 */
import { ROUND_ABS, ROUND_REL } from './bounds.js';
import type { DenseNet } from './dense.js';

const outward = (v: number, s: number): number => ROUND_REL * (Math.abs(v) + s) + ROUND_ABS;

/** Pre-activation bounds of every ReLU layer for a batch: lo[k], hi[k] are B x n_k (null for non-ReLU layers). */
export interface BatchBounds {
  B: number;
  lo: (Float64Array | null)[];
  hi: (Float64Array | null)[];
}

/** Rows to push back: row r belongs to box dom[r]; A is R x n (coefficients on h_{from}), cst its constant. */
interface Rows {
  R: number;
  dom: Int32Array;
  A: Float64Array;
  cst: Float64Array;
  cstAbs: Float64Array;
}

/**
 * Lower slope of unstable ReLUs: 'adaptive' (1 if u > -l else 0), 'parallel' (u / (u - l)), or
 * per row: alpha[q] (R x n_q, values in [0, 1]) for ReLU layer q. `beta[q]` (R x n_q), when
 * given, is added to the rows' coefficients on z_q after the ReLU is relaxed: -s_j beta_j for a
 * split neuron s_j z_j >= 0 (beta_j >= 0; beta-CROWN's Lagrangian term), 0 elsewhere.
 */
export type SlopeChoice = 'adaptive' | 'parallel' | { alpha: (Float64Array | null)[]; beta?: (Float64Array | null)[] };

/**
 * Pushes rows (coefficients on h_from, the output of layer `from`) back to the input and
 * concretizes each row's lower bound over its box. `inputCoef` (R x numInputs) is filled with the
 * final coefficients.
 */
function pushBack(
  net: DenseNet,
  from: number,
  rows: Rows,
  bounds: BatchBounds,
  boxLo: Float64Array,
  boxHi: Float64Array,
  slopes: SlopeChoice,
  out: Float64Array,
  inputCoef?: Float64Array,
  /** When given, receives per ReLU layer the coefficients met at its output, before relaxing (R x n_q). */
  record?: (Float64Array | null)[],
): void {
  const { R, dom, cst, cstAbs } = rows;
  let A = rows.A;
  const d = net.numInputs;
  for (let q = from; q >= 0; q--) {
    const L = net.layers[q]!;
    const n = L.nOut;
    if (L.relu) {
      const lo = bounds.lo[q]!;
      const hi = bounds.hi[q]!;
      if (record) record[q] = A.slice();
      const alpha = typeof slopes === 'object' ? slopes.alpha[q]! : null;
      for (let r = 0; r < R; r++) {
        const b = dom[r]!;
        const o = r * n;
        const ob = b * n;
        let c = cst[r]!;
        let ca = cstAbs[r]!;
        for (let j = 0; j < n; j++) {
          const a = A[o + j]!;
          if (a === 0) continue;
          const l = lo[ob + j]!;
          const u = hi[ob + j]!;
          if (u <= 0) {
            A[o + j] = 0;
          } else if (l < 0) {
            const s = u / (u - l);
            if (a > 0) {
              A[o + j] = a * (alpha ? alpha[o + j]! : slopes === 'parallel' ? Math.min(1, s) : u > -l ? 1 : 0);
            } else {
              // Upper chord through (l, 0) and (u, u), intercept nudged up against round-off in s.
              const bU = -s * l + outward(s * l, u);
              A[o + j] = a * s;
              c += a * bU;
              ca -= a * bU;
            }
          }
        }
        cst[r] = c;
        cstAbs[r] = ca;
      }
      const beta = typeof slopes === 'object' ? slopes.beta?.[q] : undefined;
      if (beta) for (let t = 0; t < R * n; t++) if (beta[t] !== 0) A[t] += beta[t]!;
    }
    // z_q = W_q h_{q-1} + b_q.
    const m = L.nIn;
    const next = new Float64Array(R * m);
    const W = L.W;
    const nz = new Int32Array(n);
    for (let r = 0; r < R; r++) {
      const o = r * n;
      const on = r * m;
      let c = cst[r]!;
      let ca = cstAbs[r]!;
      let count = 0;
      for (let j = 0; j < n; j++) {
        const a = A[o + j]!;
        if (a === 0) continue;
        const t = a * L.b[j]!;
        c += t;
        ca += Math.abs(t);
        nz[count++] = j;
      }
      cst[r] = c;
      cstAbs[r] = ca;
      // next_r += sum_j a_j W[j, :], four nonzero j per sweep over next_r (a quarter of the
      // loads and stores of next_r; the product is the same up to reordered float64 sums, far
      // inside the outward rounding).
      let k = 0;
      for (; k + 4 <= count; k += 4) {
        const j0 = nz[k]!, j1 = nz[k + 1]!, j2 = nz[k + 2]!, j3 = nz[k + 3]!;
        const a0 = A[o + j0]!, a1 = A[o + j1]!, a2 = A[o + j2]!, a3 = A[o + j3]!;
        const w0 = j0 * m, w1 = j1 * m, w2 = j2 * m, w3 = j3 * m;
        for (let i = 0; i < m; i++) next[on + i] += a0 * W[w0 + i]! + a1 * W[w1 + i]! + a2 * W[w2 + i]! + a3 * W[w3 + i]!;
      }
      for (; k < count; k++) {
        const j = nz[k]!;
        const a = A[o + j]!;
        const ow = j * m;
        for (let i = 0; i < m; i++) next[on + i] += a * W[ow + i]!;
      }
    }
    A = next;
  }
  for (let r = 0; r < R; r++) {
    const b = dom[r]!;
    let v = cst[r]!;
    let s = cstAbs[r]!;
    for (let i = 0; i < d; i++) {
      const a = A[r * d + i]!;
      if (a === 0) continue;
      const l = boxLo[b * d + i]!;
      const u = boxHi[b * d + i]!;
      v += a > 0 ? a * l : a * u;
      s += Math.abs(a) * Math.max(Math.abs(l), Math.abs(u));
    }
    out[r] = v - outward(v, s);
  }
  if (inputCoef) inputCoef.set(A.subarray(0, R * d));
}

/** IBP of layer q's pre-activation from the bounds of h_{q-1} (B x nIn each), written into lo/hi (B x nOut). */
function ibp(net: DenseNet, q: number, B: number, hlo: Float64Array, hhi: Float64Array, lo: Float64Array, hi: Float64Array): void {
  const L = net.layers[q]!;
  const { nIn: m, nOut: n, W } = L;
  for (let b = 0; b < B; b++) {
    const ob = b * m;
    for (let r = 0; r < n; r++) {
      let a = L.b[r]!;
      let c = a;
      let s = Math.abs(a);
      const ow = r * m;
      for (let i = 0; i < m; i++) {
        const w = W[ow + i]!;
        if (w === 0) continue;
        const l = hlo[ob + i]!;
        const u = hhi[ob + i]!;
        if (w > 0) {
          a += w * l;
          c += w * u;
        } else {
          a += w * u;
          c += w * l;
        }
        s += Math.abs(w) * Math.max(Math.abs(l), Math.abs(u));
      }
      lo[b * n + r] = a - outward(a, s);
      hi[b * n + r] = c + outward(c, s);
    }
  }
}

/** Number of ReLU neurons. */
export function reluCount(net: DenseNet): number {
  let n = 0;
  for (const L of net.layers) if (L.relu) n += L.nOut;
  return n;
}

/**
 * Pre-activation bounds of every ReLU layer for B boxes (boxLo/boxHi: B x numInputs): IBP,
 * intersected with the parent box's bounds (they hold on every sub-box), then CROWN for what is
 * still unstable. (Forward linear bounds, Neurify-style, were tried as a cheaper filter and
 * measured on ACAS Xu: they left as many neurons unstable as IBP + CROWN and cost time.) `patterns` (B x reluCount, +1 active / -1 inactive / 0 unstable) holds the
 * parents' patterns on entry (or is all 0) and the boxes' own on return.
 */
export function batchLayerBounds(net: DenseNet, B: number, boxLo: Float64Array, boxHi: Float64Array, inherited?: Float64Array, crown = true): BatchBounds {
  const bounds: BatchBounds = { B, lo: [], hi: [] };
  const P = reluCount(net);
  let hlo = boxLo;
  let hhi = boxHi;
  let offset = 0;
  for (let q = 0; q < net.layers.length - 1; q++) {
    const L = net.layers[q]!;
    const n = L.nOut;
    const lo = new Float64Array(B * n);
    const hi = new Float64Array(B * n);
    ibp(net, q, B, hlo, hhi, lo, hi);
    if (L.relu && inherited) {
      for (let b = 0; b < B; b++) {
        const o = b * 2 * P + offset;
        for (let j = 0; j < n; j++) {
          const t = b * n + j;
          lo[t] = Math.max(lo[t]!, inherited[o + j]!);
          hi[t] = Math.min(hi[t]!, inherited[o + P + j]!);
        }
      }
    }
    if (crown && q > 0 && L.relu) {
      // CROWN for the still-unstable neurons of all boxes at once: rows W_q[j,:] (lower) and -W_q[j,:] (upper).
      let count = 0;
      for (let t = 0; t < B * n; t++) if (lo[t]! < 0 && hi[t]! > 0) count++;
      if (count > 0) {
        const m = L.nIn;
        const R = 2 * count;
        const rows: Rows = { R, dom: new Int32Array(R), A: new Float64Array(R * m), cst: new Float64Array(R), cstAbs: new Float64Array(R) };
        const target = new Int32Array(count);
        let r = 0;
        for (let t = 0; t < B * n; t++) {
          if (!(lo[t]! < 0 && hi[t]! > 0)) continue;
          const b = (t / n) | 0;
          const j = t - b * n;
          target[r] = t;
          for (const [row, sign] of [[r, 1], [r + count, -1]] as const) {
            rows.dom[row] = b;
            for (let i = 0; i < m; i++) rows.A[row * m + i] = sign * L.W[j * m + i]!;
            rows.cst[row] = sign * L.b[j]!;
            rows.cstAbs[row] = Math.abs(L.b[j]!);
          }
          r++;
        }
        // Both sound lower slopes, each neuron keeping its better bound: with one slope, tighter
        // bounds below can flip CROWN's adaptive choice and loosen the bounds above.
        const slopes: SlopeChoice[] = ['adaptive', 'parallel'];
        for (const slope of slopes) {
          const res = new Float64Array(R);
          const copy: Rows = slope === slopes[slopes.length - 1] ? rows : { ...rows, A: rows.A.slice(), cst: rows.cst.slice(), cstAbs: rows.cstAbs.slice() };
          pushBack(net, q - 1, copy, bounds, boxLo, boxHi, slope, res);
          for (let k = 0; k < count; k++) {
            const t = target[k]!;
            lo[t] = Math.max(lo[t]!, res[k]!);
            hi[t] = Math.min(hi[t]!, -res[k + count]!);
          }
        }
      }
    }
    bounds.lo[q] = L.relu ? lo : null;
    bounds.hi[q] = L.relu ? hi : null;
    // h_q: intervals for the next IBP step.
    hlo = L.relu ? lo.map((v) => (v > 0 ? v : 0)) : lo;
    hhi = L.relu ? hi.map((v) => (v > 0 ? v : 0)) : hi;
    if (L.relu) {
      if (inherited) {
        for (let b = 0; b < B; b++) {
          inherited.set(lo.subarray(b * n, (b + 1) * n), b * 2 * P + offset);
          inherited.set(hi.subarray(b * n, (b + 1) * n), b * 2 * P + P + offset);
        }
      }
      offset += n;
    }
  }
  return bounds;
}

/**
 * Lower bounds of output rows: row r is c_r . y on box dom[r] (C: R x numOutputs). Returns the
 * bound per row and the input coefficients (R x numInputs) of the relaxation that gave it.
 */
export function batchOutputBounds(
  net: DenseNet,
  bounds: BatchBounds,
  boxLo: Float64Array,
  boxHi: Float64Array,
  dom: Int32Array,
  C: Float64Array,
  slopes: SlopeChoice | 'both' | 'optimized' = 'optimized',
): { lower: Float64Array; inputCoef: Float64Array } {
  const R = dom.length;
  const last = net.layers.length - 1;
  const d = net.numInputs;
  const run = (choice: SlopeChoice, record?: (Float64Array | null)[]) => {
    const rows = outputRows(net, C, dom);
    const lower = new Float64Array(R);
    const inputCoef = new Float64Array(R * d);
    pushBack(net, last - 1, rows, bounds, boxLo, boxHi, choice, lower, inputCoef, record);
    return { lower, inputCoef };
  };
  if (slopes !== 'both' && slopes !== 'optimized') return run(slopes);
  const best = run('adaptive');
  const keep = (t: { lower: Float64Array; inputCoef: Float64Array }, coefToo = true) => {
    for (let r = 0; r < R; r++) {
      if (t.lower[r]! > best.lower[r]!) {
        best.lower[r] = t.lower[r]!;
        if (coefToo) best.inputCoef.set(t.inputCoef.subarray(r * d, (r + 1) * d), r * d);
      }
    }
  };
  keep(run('parallel'));
  // The optimized bounds replace the bounds only: the input coefficients (branching, minimizers)
  // stay those of the fixed slopes. Taking alpha's too tripled the domains on 1_1/prop_4 (2,189 ->
  // 6,837, unfinished at 40 s); keeping them brought it to 823.
  if (slopes === 'optimized') optimizeSlopes(net, bounds, boxLo, boxHi, dom, run, (t) => keep(t, false));
  return best;
}

/** The output rows c.y pushed through the last (affine) layer: coefficients on its input. */
function outputRows(net: DenseNet, C: Float64Array, dom: Int32Array): Rows {
  const R = dom.length;
  const L = net.layers[net.layers.length - 1]!;
  const m = L.nIn;
  const rows: Rows = { R, dom, A: new Float64Array(R * m), cst: new Float64Array(R), cstAbs: new Float64Array(R) };
  for (let r = 0; r < R; r++) {
    let c = 0;
    let ca = 0;
    for (let j = 0; j < L.nOut; j++) {
      const a = C[r * L.nOut + j]!;
      if (a === 0) continue;
      const t = a * L.b[j]!;
      c += t;
      ca += Math.abs(t);
      for (let i = 0; i < m; i++) rows.A[r * m + i] += a * L.W[j * m + i]!;
    }
    rows.cst[r] = c;
    rows.cstAbs[r] = ca;
  }
  return rows;
}

/** Gradient steps of alpha-CROWN on the output rows. */
const ALPHA_STEPS = 8;

/** Per domain split signs and per row warm starts for the ReLU-splitting search (relusplit.ts). */
export interface SplitState {
  /** Per layer (null for non-ReLU layers), B x n_q: +1 the domain keeps z_qj >= 0, -1 z_qj <= 0, 0 no split. */
  sign: (Int8Array | null)[];
  /** Warm starts, R x n_q per ReLU layer: lower slopes in [0, 1] (NaN or missing: CROWN's adaptive one), multipliers >= 0 (default 0). */
  alpha?: (Float64Array | null)[];
  beta?: (Float64Array | null)[];
}

/** What the optimizer ends with, per row: the slopes and multipliers of its best bound, and that run's coefficients on each ReLU output. */
export interface OptimizedRelaxation {
  alpha: (Float64Array | null)[];
  beta: (Float64Array | null)[];
  reluCoef: (Float64Array | null)[];
}

/**
 * alpha-CROWN for the output rows (Xu et al. 2021, "Fast and Complete"): each row's lower ReLU
 * slopes alpha in [0, 1] are raised by projected signed-gradient ascent on its own bound, the
 * intermediate bounds held fixed. The bound is multilinear in the slopes: d bound / d alpha_qj =
 * a_qj * g_qj, where a_qj is the coefficient met at neuron j's output and g_qj the derivative of
 * the bound with respect to the coefficient on its input, got by one reverse sweep (the transpose
 * of the push-back with the sign choices frozen). Every alpha in [0, 1] is a sound relaxation, so
 * each iterate's bound is sound and the best per row is kept (`keep`).
 *
 * With `split` (beta-CROWN, Wang et al. 2021): a split s_j z_j >= 0 enters the bound as the
 * Lagrangian term -beta_j s_j z_j, beta_j >= 0, added to the row's coefficient on z_j; the bound
 * stays sound for every beta >= 0 (the term is <= 0 on the domain) and d bound / d beta_j =
 * -s_j g_qj from the same sweep, so beta ascends with alpha.
 */
function optimizeSlopes(
  net: DenseNet,
  bounds: BatchBounds,
  boxLo: Float64Array,
  boxHi: Float64Array,
  dom: Int32Array,
  run: (choice: SlopeChoice, record?: (Float64Array | null)[]) => { lower: Float64Array; inputCoef: Float64Array },
  keep: (t: { lower: Float64Array; inputCoef: Float64Array }) => void,
  steps = ALPHA_STEPS,
  split?: SplitState,
): OptimizedRelaxation | null {
  const R = dom.length;
  const d = net.numInputs;
  const last = net.layers.length - 1;
  const relu = (q: number) => net.layers[q]!.relu && q < last;
  // Start from the warm start, else CROWN's adaptive slopes.
  const alpha: (Float64Array | null)[] = net.layers.map((L, q) => {
    if (!relu(q)) return null;
    const n = L.nOut;
    const warm = split?.alpha?.[q];
    const a = new Float64Array(R * n);
    for (let r = 0; r < R; r++) {
      const ob = dom[r]! * n;
      for (let j = 0; j < n; j++) {
        const w = warm ? warm[r * n + j]! : NaN;
        a[r * n + j] = Number.isNaN(w) ? (bounds.hi[q]![ob + j]! > -bounds.lo[q]![ob + j]! ? 1 : 0) : w;
      }
    }
    return a;
  });
  const beta = net.layers.map((L, q) => (split && relu(q) ? (split.beta?.[q]?.slice() ?? new Float64Array(R * L.nOut)) : null));
  // Row r's sign of neuron j on layer q: split.sign[q][dom[r] * n + j].
  const best = split
    ? { lower: new Float64Array(R).fill(-Infinity), alpha: alpha.map((a) => a?.slice() ?? null), beta: beta.map((b) => b?.slice() ?? null), reluCoef: net.layers.map((L, q) => (relu(q) ? new Float64Array(R * L.nOut) : null)) }
    : null;
  for (let step = 0; step < steps; step++) {
    const record: (Float64Array | null)[] = [];
    let betaCoef: (Float64Array | null)[] | undefined;
    if (split) {
      betaCoef = beta.map((b, q) => {
        if (!b) return null;
        const n = net.layers[q]!.nOut;
        const sg = split.sign[q]!;
        const c = new Float64Array(R * n);
        for (let r = 0; r < R; r++) {
          const ob = dom[r]! * n;
          for (let j = 0; j < n; j++) if (sg[ob + j] !== 0) c[r * n + j] = -sg[ob + j]! * b[r * n + j]!;
        }
        return c;
      });
    }
    const t = run({ alpha, beta: betaCoef }, record);
    keep(t);
    if (best) {
      for (let r = 0; r < R; r++) {
        if (!(t.lower[r]! > best.lower[r]!)) continue;
        best.lower[r] = t.lower[r]!;
        for (let q = 0; q < last; q++) {
          if (!relu(q)) continue;
          const n = net.layers[q]!.nOut;
          best.alpha[q]!.set(alpha[q]!.subarray(r * n, (r + 1) * n), r * n);
          best.beta[q]!.set(beta[q]!.subarray(r * n, (r + 1) * n), r * n);
          best.reluCoef[q]!.set(record[q]!.subarray(r * n, (r + 1) * n), r * n);
        }
      }
    }
    if (step === steps - 1) break;
    // Reverse sweep: G = d bound / d (coefficients on h_{q-1}), starting from the input box.
    let G = new Float64Array(R * d);
    for (let r = 0; r < R; r++) {
      const b = dom[r]!;
      for (let i = 0; i < d; i++) G[r * d + i] = t.inputCoef[r * d + i]! > 0 ? boxLo[b * d + i]! : boxHi[b * d + i]!;
    }
    const size = 0.5 * Math.pow(0.5, step);
    // Multipliers are unbounded: slower decay (steps sum to ~2.5 x the row's coefficient scale over 20 steps).
    const sizeBeta = 0.5 * Math.pow(0.8, step);
    for (let q = 0; q < last; q++) {
      const L = net.layers[q]!;
      const { nIn: m, nOut: n, W } = L;
      const sg = split?.sign[q] ?? null;
      // Through z_q = W h + b: dG/d(coef on z_q)_j = b_j + sum_i W_ji G_i; not needed (left 0)
      // for a ReLU input that is inactive on the row's box (its Gh below is 0 whatever it is),
      // unless it is split (its multiplier's gradient).
      const Gz = new Float64Array(R * n);
      const hiQ = L.relu ? bounds.hi[q]! : null;
      for (let r = 0; r < R; r++) {
        const ob = dom[r]! * n;
        for (let j = 0; j < n; j++) {
          if (hiQ && hiQ[ob + j]! <= 0 && !(sg && sg[ob + j] !== 0)) continue;
          let v = L.b[j]!;
          for (let i = 0; i < m; i++) v += W[j * m + i]! * G[r * m + i]!;
          Gz[r * n + j] = v;
        }
      }
      if (!L.relu) {
        G = Gz;
        continue;
      }
      const A = record[q]!;
      const lo = bounds.lo[q]!;
      const hi = bounds.hi[q]!;
      const al = alpha[q]!;
      const be = beta[q];
      const Gh = new Float64Array(R * n);
      for (let r = 0; r < R; r++) {
        const ob = dom[r]! * n;
        let scale = 0;
        if (sg) for (let j = 0; j < n; j++) scale = Math.max(scale, Math.abs(A[r * n + j]!));
        for (let j = 0; j < n; j++) {
          const l = lo[ob + j]!;
          const u = hi[ob + j]!;
          const a = A[r * n + j]!;
          const g = Gz[r * n + j]!;
          if (sg && be && sg[ob + j] !== 0) {
            // Ascend: d bound / d beta = -s g; steps on the scale of the row's coefficients.
            const grad = -sg[ob + j]! * g;
            if (grad !== 0) be[r * n + j] = Math.max(0, be[r * n + j]! + (grad > 0 ? 1 : -1) * sizeBeta * scale);
          }
          if (u <= 0) continue;
          if (l >= 0) {
            Gh[r * n + j] = g;
            continue;
          }
          const s = u / (u - l);
          if (a > 0) {
            Gh[r * n + j] = g * al[r * n + j]!;
            // Ascend: d bound / d alpha = a g.
            const grad = a * g;
            if (grad !== 0) al[r * n + j] = Math.min(1, Math.max(0, al[r * n + j]! + (grad > 0 ? size : -size)));
          } else {
            Gh[r * n + j] = g * s - s * l;
          }
        }
      }
      G = Gh;
    }
  }
  return best ? { alpha: best.alpha, beta: best.beta, reluCoef: best.reluCoef } : null;
}

/**
 * Output-row bounds of a batch of ReLU-split domains (relusplit.ts): the bounds' clamps already
 * encode the splits; alpha and beta optimized per row from the warm starts, `steps` iterations.
 * Returns each row's best bound, its relaxation's input coefficients (the minimizer), and the
 * slopes, multipliers and ReLU-output coefficients of that bound (warm starts and branching).
 */
export function batchSplitOutputBounds(
  net: DenseNet,
  bounds: BatchBounds,
  boxLo: Float64Array,
  boxHi: Float64Array,
  dom: Int32Array,
  C: Float64Array,
  split: SplitState,
  steps: number,
): { lower: Float64Array; inputCoef: Float64Array } & OptimizedRelaxation {
  const R = dom.length;
  const d = net.numInputs;
  const last = net.layers.length - 1;
  const run = (choice: SlopeChoice, record?: (Float64Array | null)[]) => {
    const rows = outputRows(net, C, dom);
    const lower = new Float64Array(R);
    const inputCoef = new Float64Array(R * d);
    pushBack(net, last - 1, rows, bounds, boxLo, boxHi, choice, lower, inputCoef, record);
    return { lower, inputCoef };
  };
  const best = { lower: new Float64Array(R).fill(-Infinity), inputCoef: new Float64Array(R * d) };
  const opt = optimizeSlopes(net, bounds, boxLo, boxHi, dom, run, (t) => {
    for (let r = 0; r < R; r++) {
      if (t.lower[r]! > best.lower[r]!) {
        best.lower[r] = t.lower[r]!;
        best.inputCoef.set(t.inputCoef.subarray(r * d, (r + 1) * d), r * d);
      }
    }
  }, steps, split)!;
  return { ...best, ...opt };
}
