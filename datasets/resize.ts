/**
 * Bilinear resizing and channel/layout conversion of CHW float images. Used for image folders,
 * whose files rarely match the model's input size. Sampling follows the half-pixel-centre
 * convention (align_corners=False in PyTorch, cv2.INTER_LINEAR without antialiasing).
 */

/** Resizes one CHW image to (outH, outW). */
export function resizeBilinear(src: Float32Array, c: number, h: number, w: number, outH: number, outW: number): Float32Array {
  if (h === outH && w === outW) return src.slice();
  return resizeBilinearInto(src, c, h, w, outH, outW, new Float32Array(c * outH * outW));
}

/**
 * The bilinear resize itself, into out (c x outH x outW): the one implementation, for images
 * (float32, above) and saliency maps (float64, analyzers/saliency/resize.ts).
 */
export function resizeBilinearInto<T extends Float32Array | Float64Array>(src: ArrayLike<number>, c: number, h: number, w: number, outH: number, outW: number, out: T): T {
  const sy = h / outH;
  const sx = w / outW;
  for (let oy = 0; oy < outH; oy++) {
    const fy = Math.min(Math.max((oy + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, h - 1);
    const wy = fy - y0;
    for (let ox = 0; ox < outW; ox++) {
      const fx = Math.min(Math.max((ox + 0.5) * sx - 0.5, 0), w - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, w - 1);
      const wx = fx - x0;
      for (let ch = 0; ch < c; ch++) {
        const p = ch * h * w;
        const top = src[p + y0 * w + x0]! * (1 - wx) + src[p + y0 * w + x1]! * wx;
        const bottom = src[p + y1 * w + x0]! * (1 - wx) + src[p + y1 * w + x1]! * wx;
        out[ch * outH * outW + oy * outW + ox] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return out;
}

/** 1 -> 3 channels repeats the plane; 3 -> 1 takes ITU-R BT.601 luma (what PIL's convert('L') does). */
export function convertChannels(src: Float32Array, c: number, plane: number, outC: number): Float32Array {
  if (c === outC) return src;
  const out = new Float32Array(outC * plane);
  if (c === 1) {
    for (let k = 0; k < outC; k++) out.set(src.subarray(0, plane), k * plane);
    return out;
  }
  if (c === 3 && outC === 1) {
    for (let i = 0; i < plane; i++) out[i] = 0.299 * src[i]! + 0.587 * src[plane + i]! + 0.114 * src[2 * plane + i]!;
    return out;
  }
  throw new Error(`cannot convert ${c} channels to ${outC}`);
}

/** CHW -> HWC for models that take channels last. */
export function chwToHwc(src: Float32Array, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let ch = 0; ch < c; ch++) for (let i = 0; i < h * w; i++) out[i * c + ch] = src[ch * h * w + i]!;
  return out;
}

/** Resizes one CHW image to (outH, outW) taking the nearest source pixel (PyTorch's mode="nearest": floor(o * in / out)). */
export function resizeNearest(src: Float32Array, c: number, h: number, w: number, outH: number, outW: number): Float32Array {
  if (h === outH && w === outW) return src.slice();
  const out = new Float32Array(c * outH * outW);
  for (let ch = 0; ch < c; ch++) {
    for (let oy = 0; oy < outH; oy++) {
      const y = Math.min(Math.floor((oy * h) / outH), h - 1);
      for (let ox = 0; ox < outW; ox++) out[ch * outH * outW + oy * outW + ox] = src[ch * h * w + y * w + Math.min(Math.floor((ox * w) / outW), w - 1)]!;
    }
  }
  return out;
}

/** HWC -> CHW for samples stored channels last. */
export function hwcToChw(src: Float32Array, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let ch = 0; ch < c; ch++) for (let i = 0; i < h * w; i++) out[ch * h * w + i] = src[i * c + ch]!;
  return out;
}
