/** Map post-processing: min-max normalization, bilinear resizing, multi-layer combination. */
import { valueRange } from '../../common/range.js';
import { resizeBilinearInto } from '../../datasets/resize.js';

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
 * The same resize as the image folders' (datasets/resize.ts), in float64.
 */
export function resizeBilinear(src: ArrayLike<number>, h: number, w: number, H: number, W: number): Float64Array {
  const out = new Float64Array(H * W);
  if (h === H && w === W) {
    for (let i = 0; i < out.length; i++) out[i] = src[i]!;
    return out;
  }
  return resizeBilinearInto(src, 1, h, w, H, W, out);
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
