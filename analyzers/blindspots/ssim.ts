/**
 * Structural similarity (Wang, Bovik, Sheikh, Simoncelli 2004): Gaussian window 11x11 with
 * sigma 1.5, K1 = 0.01, K2 = 0.03, L = the data range; the mean SSIM map, averaged over channels.
 * Images are [C, H, W]; smaller than the window, the window shrinks to the image.
 */
export function ssim(a: Float32Array, b: Float32Array, shape: number[], range: number): number {
  const [c, h, w] = shape.length === 3 ? (shape as [number, number, number]) : [1, shape[0]!, shape[1]!];
  const size = Math.min(11, h, w);
  const half = Math.floor(size / 2);
  const kernel: number[] = [];
  for (let i = 0; i < size; i++) kernel.push(Math.exp(-((i - half) ** 2) / (2 * 1.5 * 1.5)));
  const ksum = kernel.reduce((s, v) => s + v, 0);
  for (let i = 0; i < size; i++) kernel[i]! /= ksum;
  const c1 = (0.01 * range) ** 2;
  const c2 = (0.03 * range) ** 2;
  let total = 0;
  let count = 0;
  for (let ch = 0; ch < c; ch++) {
    const off = ch * h * w;
    for (let y = half; y < h - (size - 1 - half); y++) {
      for (let x = half; x < w - (size - 1 - half); x++) {
        let ma = 0;
        let mb = 0;
        let saa = 0;
        let sbb = 0;
        let sab = 0;
        for (let i = 0; i < size; i++) {
          for (let j = 0; j < size; j++) {
            const wgt = kernel[i]! * kernel[j]!;
            const idx = off + (y + i - half) * w + (x + j - half);
            const va = a[idx]!;
            const vb = b[idx]!;
            ma += wgt * va;
            mb += wgt * vb;
            saa += wgt * va * va;
            sbb += wgt * vb * vb;
            sab += wgt * va * vb;
          }
        }
        const va = saa - ma * ma;
        const vb = sbb - mb * mb;
        const cov = sab - ma * mb;
        total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
        count++;
      }
    }
  }
  return count > 0 ? total / count : NaN;
}
