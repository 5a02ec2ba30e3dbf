/** A sample drawn as an image when its shape reads as one: [H,W], [C,H,W] (C = 1 or 3) or a square vector. */
import { useEffect, useRef } from 'preact/hooks';

export function imageShape(shape: readonly number[]): { c: number; h: number; w: number } | null {
  const dims = shape[0] === 1 && shape.length === 4 ? shape.slice(1) : shape;
  if (dims.length === 2) return { c: 1, h: dims[0]!, w: dims[1]! };
  if (dims.length === 3 && (dims[0] === 1 || dims[0] === 3)) return { c: dims[0]!, h: dims[1]!, w: dims[2]! };
  if (dims.length === 3 && (dims[2] === 1 || dims[2] === 3)) return null; // channels-last: not guessed
  if (dims.length === 1) {
    const side = Math.round(Math.sqrt(dims[0]!));
    if (side * side === dims[0] && side >= 4) return { c: 1, h: side, w: side };
  }
  return null;
}

export function SampleImage({ values, shape, scale = 3, title }: { values: ArrayLike<number>; shape: { c: number; h: number; w: number }; scale?: number; title?: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas) return;
    const { c, h, w } = shape;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < values.length; i++) {
      lo = Math.min(lo, values[i]!);
      hi = Math.max(hi, values[i]!);
    }
    const span = hi - lo || 1;
    const img = new ImageData(w, h);
    for (let p = 0; p < h * w; p++) {
      for (let k = 0; k < 3; k++) {
        const v = values[(c === 3 ? k : 0) * h * w + p]!;
        img.data[p * 4 + k] = Math.round(((v - lo) / span) * 255);
      }
      img.data[p * 4 + 3] = 255;
    }
    canvas.getContext('2d')!.putImageData(img, 0, 0);
  }, [values, shape]);
  return <canvas ref={ref} width={shape.w} height={shape.h} style={{ width: `${shape.w * scale}px`, height: `${shape.h * scale}px`, imageRendering: 'pixelated' }} title={title} class="sample" />;
}
