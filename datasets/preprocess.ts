/**
 * Applies a Preprocessing spec (preprocessing.ts) to decoded samples. Per sample, in order:
 *   1. layout NHWC: [H, W, C] -> [C, H, W]
 *   2. resize to [H', W'] (bilinear, half-pixel centres; or nearest)
 *   3. channelOrder BGR: channel c <- channel C-1-c
 *   4. v <- v * scale
 *   5. v <- (v - mean[c]) / std[c]
 *   6. dtype uint8 / int8: v <- clamp(round(v), type range)
 * Rank-3 samples are images (CHW after step 1); rank-2 samples are one-channel [H, W]
 * images; rank-1 samples (CSV rows) are one channel of features, so only scale, a single
 * mean/std and dtype apply to them.
 */
import type { LoadedDataset } from './types.js';
import { badDataset } from './limits.js';
import type { CastDtype, Preprocessing } from './preprocessing.js';
import { hwcToChw, resizeBilinear, resizeNearest } from './resize.js';

/** The spec's steps that change values or shapes (the rest are label and range options). */
export const VALUE_STEPS = ['scale', 'mean', 'std', 'channelOrder', 'layout', 'resize', 'dtype'] as const;

export const hasValueSteps = (p: Preprocessing): boolean => VALUE_STEPS.some((k) => p[k] !== undefined);

/** Samples viewed as C x H x W images (see the file comment). */
function imageView(shape: number[], layout: Preprocessing['layout']): { c: number; h: number; w: number; hwc: boolean } {
  if (shape.length === 3) {
    const hwc = layout === 'NHWC';
    const [a, b, c] = shape as [number, number, number];
    return hwc ? { c, h: a, w: b, hwc } : { c: a, h: b, w: c, hwc };
  }
  if (layout) throw badDataset(`layout ${layout} needs rank-3 samples (C, H, W or H, W, C); these have shape [${shape}]`);
  if (shape.length === 2) return { c: 1, h: shape[0]!, w: shape[1]!, hwc: false };
  return { c: 1, h: 1, w: shape.reduce((a, b) => a * b, 1), hwc: false };
}

function perChannel(values: number[] | undefined, fallback: number, channels: number, name: string): number[] {
  if (!values) return new Array<number>(channels).fill(fallback);
  if (values.length === 1) return new Array<number>(channels).fill(values[0]!);
  if (values.length !== channels) throw badDataset(`preprocessing ${name} has ${values.length} values but the samples have ${channels} channel${channels === 1 ? '' : 's'}`);
  return values;
}

const CAST_RANGE: Record<Exclude<CastDtype, 'float32'>, [number, number]> = { uint8: [0, 255], int8: [-128, 127] };

export function applyPreprocessing(dataset: LoadedDataset, p: Preprocessing): LoadedDataset {
  if (!hasValueSteps(p)) return dataset;
  const view = imageView(dataset.sampleShape, p.layout);
  const { c, hwc } = view;
  if (p.resize && dataset.sampleShape.length < 2) throw badDataset(`resize needs image samples (rank 2 or 3); these have shape [${dataset.sampleShape}]`);
  if (p.channelOrder === 'BGR' && c !== 3) throw badDataset(`channelOrder BGR needs 3 channels; the samples have ${c}`);
  const [h, w] = p.resize ? p.resize.size : [view.h, view.w];
  const inPer = view.c * view.h * view.w;
  const plane = h * w;
  const per = c * plane;
  const scale = p.scale ?? 1;
  const mean = perChannel(p.mean, 0, c, 'mean');
  const std = perChannel(p.std, 1, c, 'std');
  const cast = p.dtype && p.dtype !== 'float32' ? CAST_RANGE[p.dtype] : null;
  const resize = p.resize?.mode === 'nearest' ? resizeNearest : resizeBilinear;

  const x = new Float32Array(dataset.count * per);
  for (let s = 0; s < dataset.count; s++) {
    let img = dataset.x.subarray(s * inPer, (s + 1) * inPer);
    if (hwc) img = hwcToChw(img, c, view.h, view.w);
    if (p.resize) img = resize(img, c, view.h, view.w, h, w);
    const base = s * per;
    for (let ch = 0; ch < c; ch++) {
      const from = (p.channelOrder === 'BGR' ? c - 1 - ch : ch) * plane;
      const m = mean[ch]!;
      const sd = std[ch]!;
      for (let i = 0; i < plane; i++) {
        let v = (img[from + i]! * scale - m) / sd;
        if (cast) v = Math.min(Math.max(Math.round(v), cast[0]), cast[1]);
        x[base + ch * plane + i] = v;
      }
    }
  }
  const rank = dataset.sampleShape.length;
  const sampleShape = rank === 3 ? [c, h, w] : rank === 2 ? [h, w] : [...dataset.sampleShape];
  return { ...dataset, x, sampleShape, ...(p.layout || (rank === 3 && dataset.chwImages) ? { chwImages: true } : {}) };
}

