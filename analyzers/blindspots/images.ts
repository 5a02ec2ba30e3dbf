/** Source | target | result, side by side, as one PNG (grayscale or RGB images in [C, H, W]). */
import { PNG } from 'pngjs';

export function sideBySidePng(images: Float32Array[], shape: number[], lo: number, hi: number): Uint8Array | null {
  const [c, h, w] = shape.length === 3 ? (shape as [number, number, number]) : shape.length === 2 ? [1, shape[0]!, shape[1]!] : [0, 0, 0];
  if ((c !== 1 && c !== 3) || h < 2 || w < 2) return null;
  const gap = 2;
  const png = new PNG({ width: images.length * w + (images.length - 1) * gap, height: h });
  png.data.fill(255);
  const toByte = (v: number) => Math.max(0, Math.min(255, Math.round(((v - lo) / (hi - lo)) * 255)));
  images.forEach((img, n) => {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const px = ((y * png.width) + n * (w + gap) + x) * 4;
        for (let ch = 0; ch < 3; ch++) png.data[px + ch] = toByte(img[(c === 3 ? ch : 0) * h * w + y * w + x]!);
        png.data[px + 3] = 255;
      }
    }
  });
  return new Uint8Array(PNG.sync.write(png));
}
