/**
 * From raw per-layer maps to what the result shows: min-max normalized at the layer's
 * resolution, then bilinearly resized to the input (pytorch-grad-cam's scale_cam_image order);
 * several layers are each resized to the input and normalized, then combined (resize.ts
 * combineMaps) and normalized once more. (Bilinear weights sum to 1, so resizing commutes with
 * the affine normalization: the order only matters for the final clamp-free values.)
 */
import { combineMaps, minMaxNormalize, resizeBilinear } from './resize.js';
import type { ResolvedLayer } from './compute.js';
import type { InputGeometry } from './layers.js';

export interface FinalMap {
  /** Layer resolution (single layer) or input resolution (combined), [h, w]. */
  shape: [number, number];
  values: Float64Array;
  upsampled: Float64Array;
  rawMin: number;
  rawMax: number;
}

export interface CombineSpec {
  mode: 'sum' | 'geometric';
  weights: number[];
}

export function finalizeMap(raw: Float64Array[], layers: ResolvedLayer[], input: InputGeometry, combine: CombineSpec): FinalMap {
  if (raw.length === 1) {
    const g = layers[0]!.geometry;
    const values = Float64Array.from(raw[0]!);
    const { min, max } = minMaxNormalize(values);
    return { shape: [g.h, g.w], values, upsampled: resizeBilinear(values, g.h, g.w, input.h, input.w), rawMin: min, rawMax: max };
  }
  const resized = raw.map((m, l) => {
    const g = layers[l]!.geometry;
    const up = resizeBilinear(m, g.h, g.w, input.h, input.w);
    minMaxNormalize(up);
    return up;
  });
  const values = combineMaps(resized, combine.weights, combine.mode);
  const { min, max } = minMaxNormalize(values);
  return { shape: [input.h, input.w], values, upsampled: values, rawMin: min, rawMax: max };
}
