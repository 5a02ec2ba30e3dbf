/**
 * Heatmap overlays as PNG: a jet colormap of the map blended over the input drawn in
 * grayscale (one channel, or anything but 3) or RGB (3 channels), like pytorch-grad-cam's
 * show_cam_on_image (heatmap (1 - w) + image w, w = image_weight = 0.5 by default).
 * Small inputs (MNIST's 28 x 28) are scaled up by an integer factor so the PNG is viewable:
 * the image by nearest neighbour (pixels stay pixels), the map bilinearly.
 */
import { PNG } from 'pngjs';
import { resizeBilinear } from './resize.js';

/** Jet colormap (matplotlib's piecewise-linear 'jet'): v in [0, 1] -> r, g, b in [0, 1]. */
export function jet(v: number): [number, number, number] {
  const c = (t: number) => Math.min(1, Math.max(0, t));
  const x = c(v);
  return [c(1.5 - Math.abs(4 * x - 3)), c(1.5 - Math.abs(4 * x - 2)), c(1.5 - Math.abs(4 * x - 1))];
}

export interface OverlayInput {
  /** One sample, channel-major C x H x W. */
  image: ArrayLike<number>;
  channels: number;
  h: number;
  w: number;
  /** The map at input resolution (H x W), values in [0, 1]. */
  map: ArrayLike<number>;
  imageWeight: number;
}

/** The integer factor that brings the larger side to about 224 px (1..8). */
export const overlayScale = (h: number, w: number): number => Math.max(1, Math.min(8, Math.floor(224 / Math.max(h, w))));

export function renderOverlay(o: OverlayInput): Uint8Array {
  const { channels: C, h, w } = o;
  const s = overlayScale(h, w);
  const H = h * s;
  const W = w * s;
  const heat = resizeBilinear(o.map, h, w, H, W);
  // The input rescaled to [0, 1] per image: datasets come as 0..255, 0..1 or standardized.
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < C * h * w; i++) {
    const v = o.image[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi > lo ? hi - lo : 1;
  const rgb = C === 3;
  const png = new PNG({ width: W, height: H });
  const a = o.imageWeight;
  for (let Y = 0; Y < H; Y++) {
    const y = Math.floor(Y / s);
    for (let X = 0; X < W; X++) {
      const x = Math.floor(X / s);
      const p = y * w + x;
      let r: number, g: number, b: number;
      if (rgb) {
        r = (o.image[p]! - lo) / span;
        g = (o.image[h * w + p]! - lo) / span;
        b = (o.image[2 * h * w + p]! - lo) / span;
      } else {
        let m = 0;
        for (let c = 0; c < C; c++) m += o.image[c * h * w + p]!;
        r = g = b = (m / C - lo) / span;
      }
      const [hr, hg, hb] = jet(heat[Y * W + X]!);
      const k = (Y * W + X) * 4;
      png.data[k] = Math.round(255 * ((1 - a) * hr + a * r));
      png.data[k + 1] = Math.round(255 * ((1 - a) * hg + a * g));
      png.data[k + 2] = Math.round(255 * ((1 - a) * hb + a * b));
      png.data[k + 3] = 255;
    }
  }
  return new Uint8Array(PNG.sync.write(png));
}
