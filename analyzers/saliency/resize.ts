/** Map post-processing: min-max normalization, bilinear resizing, multi-layer combination. */
import { valueRange } from '../../common/range.js';

/**
 * (m - min) / (max - min) in place; a constant map becomes all zeros (pytorch-grad-cam's
 * scale_cam_image divides by max + 1e-7 for the same reason; we skip the epsilon so values
 * are exact). Returns the raw min and max.
 */
export function minMaxNormalize(m: Float64Array): { min: number; max: number } {
  const [min, max] = valueRange(m) ?? [0, 0];
  if (m.length === 0) return { min, max };
  const range = max - min;
  if (!(range > 0)) m.fill(0);
  else for (let i = 0; i < m.length; i++) m[i] = (m[i]! - min) / range;
  return { min, max };
}

/**
 * Bilinear resize of an h x w map to H x W with half-pixel centres (src = (dst + 0.5) * h/H
 * - 0.5, clamped to the edges): the rule of cv2.resize(INTER_LINEAR), which pytorch-grad-cam
 * uses, and of torch's interpolate(mode='bilinear', align_corners=False), which torch-cam uses.
 */
export function resizeBilinear(src: ArrayLike<number>, h: number, w: number, H: number, W: number): Float64Array {
  const out = new Float64Array(H * W);
  if (h === H && w === W) {
    for (let i = 0; i < out.length; i++) out[i] = src[i]!;
    return out;
  }
  const ys = axis(h, H);
  const xs = axis(w, W);
  for (let Y = 0; Y < H; Y++) {
    const y0 = ys.i0[Y]!;
    const y1 = ys.i1[Y]!;
    const fy = ys.f[Y]!;
    for (let X = 0; X < W; X++) {
      const x0 = xs.i0[X]!;
      const x1 = xs.i1[X]!;
      const fx = xs.f[X]!;
      const top = src[y0 * w + x0]! * (1 - fx) + src[y0 * w + x1]! * fx;
      const bottom = src[y1 * w + x0]! * (1 - fx) + src[y1 * w + x1]! * fx;
      out[Y * W + X] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

function axis(n: number, N: number): { i0: Int32Array; i1: Int32Array; f: Float64Array } {
  const i0 = new Int32Array(N);
  const i1 = new Int32Array(N);
  const f = new Float64Array(N);
  const scale = n / N;
  for (let k = 0; k < N; k++) {
    let s = (k + 0.5) * scale - 0.5;
    if (s < 0) s = 0;
    let a = Math.floor(s);
    if (a > n - 1) a = n - 1;
    i0[k] = a;
    i1[k] = Math.min(a + 1, n - 1);
    f[k] = s - a;
  }
  return { i0, i1, f };
}

/**
 * Combines maps that are already at one resolution and min-max normalized, with weights w
 * (normalized to sum 1): 'sum' = sum_l w_l m_l; 'geometric' = prod_l m_l^w_l (zero where any
 * map is zero: a position must be salient at every layer). NormGrad's multi-layer maps
 * (Rebuffi et al. 2020, Sec. 4) combine per-layer maps this way.
 */
export function combineMaps(maps: Float64Array[], weights: number[], mode: 'sum' | 'geometric'): Float64Array {
  const total = weights.reduce((a, b) => a + b, 0);
  const w = weights.map((v) => v / total);
  const n = maps[0]!.length;
  const out = new Float64Array(n);
  if (mode === 'sum') {
    maps.forEach((m, l) => {
      for (let i = 0; i < n; i++) out[i]! += w[l]! * m[i]!;
    });
  } else {
    out.fill(1);
    maps.forEach((m, l) => {
      for (let i = 0; i < n; i++) out[i]! *= Math.pow(m[i]!, w[l]!);
    });
  }
  return out;
}
