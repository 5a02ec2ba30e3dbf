/**
 * The saliency formulas, one sample at a time, on channel-major float64 arrays:
 * A[c * S + p] (activations of the layer) and G[c * S + p] (d score / d activation), S = h * w.
 * Every function returns the raw map (S values); normalization and resizing are done by the
 * caller (resize.ts), in the order pytorch-grad-cam does them.
 */

/**
 * Optional restrictions of the CAM sums (Omeiza et al.'s Smooth Grad-CAM++ visualizes "a subset
 * of feature maps or of neurons"): `channels[k]` = 1 keeps feature map k in sum_k w_k A_k;
 * `neurons[p]` = 1 keeps position p in the weight sums over positions. Absent: everything.
 */
export interface CamSubset {
  channels?: Uint8Array | null;
  neurons?: Uint8Array | null;
}

/**
 * Grad-CAM (Selvaraju et al., ICCV 2017, Eq. 1-2): alpha_k = mean over positions of g_k,
 * map = ReLU(sum_k alpha_k A_k).
 */
export function gradCam(A: Float64Array, G: Float64Array, C: number, S: number, subset: CamSubset = {}): Float64Array {
  const map = new Float64Array(S);
  const { channels, neurons } = subset;
  const count = neurons ? neurons.reduce((a, v) => a + v, 0) : S;
  for (let c = 0; c < C; c++) {
    if (channels && !channels[c]) continue;
    let w = 0;
    const o = c * S;
    for (let p = 0; p < S; p++) if (!neurons || neurons[p]) w += G[o + p]!;
    w /= count;
    if (w === 0) continue;
    for (let p = 0; p < S; p++) map[p]! += w * A[o + p]!;
  }
  return relu(map);
}

/**
 * First-, second- and third-order derivative terms of exp(score) w.r.t. the activations,
 * averaged over one or more (noisy) runs. With Y = exp(S) and S piecewise linear in A (ReLU
 * networks), dY/dA = Y g, d2Y/dA2 = Y g^2, d3Y/dA3 = Y g^3 (Grad-CAM++, Chattopadhyay et al.
 * 2018, Eq. 17-18); the common factor Y cancels in alpha (Eq. 19) and only scales the weights
 * by a positive constant, which min-max normalization removes, so the terms are kept as g,
 * g^2, g^3 (pytorch-grad-cam and torch-cam do the same).
 * Smooth Grad-CAM++ (Omeiza et al. 2019) averages each term over noisy copies of the input.
 */
export class CamTerms {
  readonly d1: Float64Array;
  readonly d2: Float64Array;
  readonly d3: Float64Array;
  private n = 0;

  constructor(readonly size: number) {
    this.d1 = new Float64Array(size);
    this.d2 = new Float64Array(size);
    this.d3 = new Float64Array(size);
  }

  add(g: ArrayLike<number>): void {
    const { d1, d2, d3 } = this;
    for (let i = 0; i < this.size; i++) {
      const v = g[i]!;
      const v2 = v * v;
      d1[i]! += v;
      d2[i]! += v2;
      d3[i]! += v2 * v;
    }
    this.n++;
  }

  /** Divides by the number of runs added (once). */
  average(): this {
    if (this.n > 1) {
      const k = 1 / this.n;
      for (let i = 0; i < this.size; i++) {
        this.d1[i]! *= k;
        this.d2[i]! *= k;
        this.d3[i]! *= k;
      }
    }
    this.n = 1;
    return this;
  }
}

/**
 * Grad-CAM++ from derivative terms (Eq. 19): alpha_k(ij) = d2 / (2 d2 + sum_ab A_k(ab) d3),
 * 0 where the denominator is 0 (no gradient there); w_k = sum_ij alpha_k(ij) ReLU(d1);
 * map = ReLU(sum_k w_k A_k).
 */
export function gradCamPlusPlus(A: Float64Array, t: CamTerms, C: number, S: number, subset: CamSubset = {}): Float64Array {
  const map = new Float64Array(S);
  const { channels, neurons } = subset;
  for (let c = 0; c < C; c++) {
    if (channels && !channels[c]) continue;
    const o = c * S;
    let sumA = 0;
    for (let p = 0; p < S; p++) sumA += A[o + p]!;
    let w = 0;
    for (let p = 0; p < S; p++) {
      if (neurons && !neurons[p]) continue;
      const d2 = t.d2[o + p]!;
      const den = 2 * d2 + sumA * t.d3[o + p]!;
      if (den === 0) continue;
      const d1 = t.d1[o + p]!;
      if (d1 > 0) w += (d2 / den) * d1;
    }
    if (w === 0) continue;
    for (let p = 0; p < S; p++) map[p]! += w * A[o + p]!;
  }
  return relu(map);
}

/**
 * NormGrad, virtual-identity form (Rebuffi et al., CVPR 2020, Sec. 3): a 1x1 identity conv
 * inserted after the layer has, at position u, the weight gradient g(u) A(u)^T, whose
 * Frobenius norm is ||A(u)||_2 ||g(u)||_2 (norms over channels).
 */
export function normGradIdentity(A: Float64Array, G: Float64Array, C: number, S: number): Float64Array {
  const a2 = new Float64Array(S);
  const g2 = new Float64Array(S);
  for (let c = 0; c < C; c++) {
    const o = c * S;
    for (let p = 0; p < S; p++) {
      a2[p]! += A[o + p]! * A[o + p]!;
      g2[p]! += G[o + p]! * G[o + p]!;
    }
  }
  const map = new Float64Array(S);
  for (let p = 0; p < S; p++) map[p] = Math.sqrt(a2[p]! * g2[p]!);
  return map;
}

/**
 * Selective NormGrad: ||ReLU(A(u) * g(u))||_2 over channels: only channels whose activation
 * and gradient agree in sign (positive evidence for the class) contribute.
 */
export function normGradSelective(A: Float64Array, G: Float64Array, C: number, S: number): Float64Array {
  const map = new Float64Array(S);
  for (let c = 0; c < C; c++) {
    const o = c * S;
    for (let p = 0; p < S; p++) {
      const v = A[o + p]! * G[o + p]!;
      if (v > 0) map[p]! += v * v;
    }
  }
  for (let p = 0; p < S; p++) map[p] = Math.sqrt(map[p]!);
  return map;
}

/**
 * NormGrad, proper form for a Conv layer: the conv's weight gradient restricted to output
 * position u is g(u) x(u)^T with x(u) the im2col patch of the conv's input, so its norm is
 * ||g(u)|| ||x(u)||. With groups, output channel o only sees its group's patch:
 * map(u) = sqrt(sum_o g_o(u)^2 ||x_group(o)(u)||^2). patchSq[grp * S + u] = ||x_grp(u)||^2.
 */
export function normGradProper(G: Float64Array, C: number, S: number, patchSq: Float64Array, groups: number): Float64Array {
  const map = new Float64Array(S);
  const perGroup = C / groups;
  for (let c = 0; c < C; c++) {
    const o = c * S;
    const po = Math.floor(c / perGroup) * S;
    for (let p = 0; p < S; p++) map[p]! += G[o + p]! * G[o + p]! * patchSq[po + p]!;
  }
  for (let p = 0; p < S; p++) map[p] = Math.sqrt(map[p]!);
  return map;
}

/** Gradient saliency (Simonyan et al. 2014): max over channels of |d score / d x|. */
export function maxAbsOverChannels(G: ArrayLike<number>, C: number, S: number, offset = 0): Float64Array {
  const map = new Float64Array(S);
  for (let c = 0; c < C; c++) {
    const o = offset + c * S;
    for (let p = 0; p < S; p++) {
      const v = Math.abs(G[o + p]!);
      if (v > map[p]!) map[p] = v;
    }
  }
  return map;
}

function relu(m: Float64Array): Float64Array {
  for (let i = 0; i < m.length; i++) if (!(m[i]! > 0)) m[i] = 0;
  return m;
}
