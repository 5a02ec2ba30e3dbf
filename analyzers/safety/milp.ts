/**
 * The exact check ("SMT" step): a ReLU/MaxPool network on a box as a mixed-integer linear
 * program, big-M form (Tjeng, Xiao & Tedrake 2019, "Evaluating Robustness of Neural Networks
 * with Mixed Integer Programming"), solved by HiGHS (npm `highs`, WebAssembly):
 *   unstable ReLU y = max(z, 0), z in [l, u], l < 0 < u, binary d:
 *     y >= z, y >= 0, y <= z - l (1 - d), y <= u d
 *   MaxPool y = max_j z_j: y >= z_j, y <= z_j + (U - l_j)(1 - d_j), sum_j d_j = 1
 * The big-M constants are the sound bounds from bounds.ts, so the encoding is exact on the box.
 * Objective: minimize s with s >= a_k.y - b_k for each unsafe constraint of the disjunct, so the
 * optimum is the most-violating point; s* <= 0 means a counterexample candidate (re-checked by
 * ONNX Runtime before anyone believes it), s* > margin means this (sub)domain is safe.
 * HiGHS works in floating point with tolerances (feasibility 1e-9 here, gaps below); we only
 * accept "safe" when the optimum, minus the allowed gap, clears the caller's margin.
 */
import type { Highs } from 'highs';
import type { Box } from './bounds.js';
import type { Network } from './network.js';
import type { Disjunct } from './vnnlib.js';

// `highs` ships CommonJS typings over an ES-module build; its default export is the loader.
let solverPromise: Promise<Highs> | undefined;
const solver = (): Promise<Highs> =>
  (solverPromise ??= import('highs').then((mod) => ((mod as unknown as { default: () => Promise<Highs> }).default)()));

export interface MilpOutcome {
  status: 'safe' | 'candidate' | 'unknown';
  /** Lower bound of min max_k (a_k.y - b_k) on the domain (when safe or optimal). */
  objective?: number;
  /** The minimizing input, when one was found. */
  x?: Float64Array;
  binaries: number;
  message: string;
}

const MIP_ABS_GAP = 1e-7;
const MIP_REL_GAP = 1e-6;

/** True when the network can be encoded (ReLU, MaxPool and affine layers only). */
export const milpEncodable = (net: Network): boolean => net.layers.every((L) => L.kind === 'affine' || L.kind === 'relu' || L.kind === 'maxpool');

/**
 * Nonzeros of the encoding's constraint matrix (affine rows that matter, 3 per unstable ReLU):
 * the size that decides what the WebAssembly HiGHS can do in a few seconds (README.md).
 */
export function encodingSize(net: Network, pre: (Box | null)[]): number {
  let nnz = 0;
  net.layers.forEach((L, k) => {
    if (L.kind !== 'affine') return;
    const next = net.layers[k + 1];
    const b = pre[k + 1];
    for (let r = 0; r < L.nOut; r++) {
      if (next?.kind === 'relu' && b && b.hi[r]! <= 0) continue;
      nnz += L.rowPtr[r + 1]! - L.rowPtr[r]! + 1;
    }
  });
  return nnz + 4 * countBinaries(net, pre);
}

/** Counts the binaries the encoding would need for these bounds. */
export function countBinaries(net: Network, pre: (Box | null)[]): number {
  let count = 0;
  net.layers.forEach((L, k) => {
    const b = pre[k];
    if (!b) return;
    if (L.kind === 'relu') {
      for (let j = 0; j < L.n; j++) if (b.lo[j]! < 0 && b.hi[j]! > 0) count++;
    } else if (L.kind === 'maxpool') {
      for (let o = 0; o < L.nOut; o++) if (!dominantInput(L.ptr, L.idx, o, b)) count += L.ptr[o + 1]! - L.ptr[o]!;
    }
  });
  return count;
}

function dominantInput(ptr: Int32Array, idx: Int32Array, o: number, b: Box): number | null {
  let best = -1;
  let bestLo = -Infinity;
  for (let p = ptr[o]!; p < ptr[o + 1]!; p++) if (b.lo[idx[p]!]! > bestLo) (bestLo = b.lo[idx[p]!]!), (best = idx[p]!);
  for (let p = ptr[o]!; p < ptr[o + 1]!; p++) if (idx[p] !== best && b.hi[idx[p]!]! > bestLo) return null;
  return best;
}

const num = (v: number): string => (Number.isInteger(v) ? String(v) : v.toPrecision(17));

class LpWriter {
  rows: string[] = [];
  bounds: string[] = [];
  binaries: string[] = [];
  private rowCount = 0;
  /** sum coef*var (op) rhs */
  row(terms: Array<[number, string]>, op: '<=' | '>=' | '=', rhs: number): void {
    let s = ` r${this.rowCount++}:`;
    let any = false;
    for (const [c, v] of terms) {
      if (c === 0) continue;
      s += c < 0 ? ` - ${num(-c)} ${v}` : ` + ${num(c)} ${v}`;
      any = true;
    }
    if (!any) return;
    this.rows.push(`${s} ${op} ${num(rhs)}`);
  }
  bound(v: string, lo: number, hi: number): void {
    const l = Number.isFinite(lo) ? num(lo) : '-inf';
    const h = Number.isFinite(hi) ? num(hi) : '+inf';
    this.bounds.push(` ${l} <= ${v} <= ${h}`);
  }
}

/** Builds and solves the MILP of one disjunct on one (sub)domain. */
export async function solveMilp(
  net: Network,
  box: Box,
  pre: (Box | null)[],
  disjunct: Disjunct,
  timeLimitS: number,
): Promise<MilpOutcome> {
  const w = new LpWriter();
  let cur: string[] = [];
  for (let j = 0; j < box.lo.length; j++) {
    cur.push(`x${j}`);
    w.bound(`x${j}`, box.lo[j]!, box.hi[j]!);
  }
  let binaries = 0;
  net.layers.forEach((L, k) => {
    // Bounds on a layer's output help the solver; those of the next nonlinear layer's input are known.
    const nextPre = pre[k + 1] ?? null;
    if (L.kind === 'affine') {
      const out: string[] = [];
      const next = net.layers[k + 1];
      for (let r = 0; r < L.nOut; r++) {
        const v = `v${k}_${r}`;
        out.push(v);
        // Feeds a ReLU that is off on the whole domain: its value is never used.
        if (next?.kind === 'relu' && nextPre && nextPre.hi[r]! <= 0) continue;
        const terms: Array<[number, string]> = [[1, v]];
        for (let p = L.rowPtr[r]!; p < L.rowPtr[r + 1]!; p++) terms.push([-L.val[p]!, cur[L.col[p]!]!]);
        w.row(terms, '=', L.bias[r]!);
        if (nextPre) w.bound(v, nextPre.lo[r]!, nextPre.hi[r]!);
        else w.bound(v, -Infinity, Infinity);
      }
      cur = out;
    } else if (L.kind === 'relu') {
      const b = pre[k]!;
      const out: string[] = [];
      for (let j = 0; j < L.n; j++) {
        const y = `y${k}_${j}`;
        out.push(y);
        const l = b.lo[j]!;
        const u = b.hi[j]!;
        const z = cur[j]!;
        if (u <= 0) w.bound(y, 0, 0);
        else if (l >= 0) {
          w.row([[1, y], [-1, z]], '=', 0);
          w.bound(y, l, u);
        } else {
          const d = `d${k}_${j}`;
          binaries++;
          w.binaries.push(d);
          w.bound(y, 0, u);
          w.row([[1, y], [-1, z]], '>=', 0);
          w.row([[1, y], [-1, z], [-l, d]], '<=', -l);
          w.row([[1, y], [-u, d]], '<=', 0);
        }
      }
      cur = out;
    } else if (L.kind === 'maxpool') {
      const b = pre[k]!;
      const out: string[] = [];
      for (let o = 0; o < L.nOut; o++) {
        const y = `y${k}_${o}`;
        out.push(y);
        const dom = dominantInput(L.ptr, L.idx, o, b);
        if (dom !== null) {
          w.row([[1, y], [-1, cur[dom]!]], '=', 0);
          w.bound(y, -Infinity, Infinity);
          continue;
        }
        let U = -Infinity;
        for (let p = L.ptr[o]!; p < L.ptr[o + 1]!; p++) U = Math.max(U, b.hi[L.idx[p]!]!);
        const sum: Array<[number, string]> = [];
        for (let p = L.ptr[o]!; p < L.ptr[o + 1]!; p++) {
          const j = L.idx[p]!;
          const d = `m${k}_${o}_${p}`;
          binaries++;
          w.binaries.push(d);
          sum.push([1, d]);
          w.row([[1, y], [-1, cur[j]!]], '>=', 0);
          const M = U - b.lo[j]!;
          w.row([[1, y], [-1, cur[j]!], [M, d]], '<=', M);
        }
        w.row(sum, '=', 1);
        w.bound(y, -Infinity, Infinity);
      }
      cur = out;
    } else {
      throw new Error(`MILP encoding has no rule for ${L.kind}`);
    }
  });
  for (const c of disjunct.constraints) {
    const terms: Array<[number, string]> = [[-1, 's']];
    for (let j = 0; j < c.a.length; j++) if (c.a[j] !== 0) terms.push([c.a[j]!, cur[j]!]);
    w.row(terms, '<=', c.b);
  }
  w.bound('s', -Infinity, Infinity);
  const text = [
    'Minimize',
    ' obj: s',
    'Subject To',
    ...w.rows,
    'Bounds',
    ...w.bounds,
    ...(w.binaries.length > 0 ? ['Binary', ...chunk(w.binaries)] : []),
    'End',
  ].join('\n');
  const highs = await solver();
  const res = highs.solve(text, {
    output_flag: false,
    time_limit: Math.max(0.05, timeLimitS),
    mip_rel_gap: MIP_REL_GAP,
    mip_abs_gap: MIP_ABS_GAP,
    mip_feasibility_tolerance: 1e-9,
    primal_feasibility_tolerance: 1e-9,
  });
  const xOf = (): Float64Array | undefined => {
    const cols = res.Columns as Record<string, { Primal?: number }>;
    if (!cols || !cols.x0 || cols.x0.Primal === undefined) return undefined;
    const x = new Float64Array(box.lo.length);
    for (let j = 0; j < x.length; j++) x[j] = Math.min(box.hi[j]!, Math.max(box.lo[j]!, cols[`x${j}`]?.Primal ?? box.lo[j]!));
    return x;
  };
  if (res.Status === 'Infeasible') return { status: 'safe', objective: Infinity, binaries, message: 'MILP infeasible' };
  if (res.Status === 'Optimal') {
    const obj = res.ObjectiveValue;
    const dualBound = obj - Math.max(MIP_ABS_GAP, MIP_REL_GAP * Math.abs(obj));
    const x = xOf();
    return {
      status: obj <= 0 ? 'candidate' : 'safe',
      objective: dualBound,
      ...(x ? { x } : {}),
      binaries,
      message: `MILP optimum ${obj}`,
    };
  }
  const x = xOf();
  return { status: x ? 'candidate' : 'unknown', ...(x ? { x } : {}), binaries, message: `MILP stopped: ${res.Status}` };
}

function chunk(names: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < names.length; i += 20) out.push(` ${names.slice(i, i + 20).join(' ')}`);
  return out;
}
