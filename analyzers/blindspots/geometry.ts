/**
 * How far the equi-confidence region reaches around a source image (the paper's Sec. 5):
 * - star-like connectivity: confidence along the straight line from x0 to a traversal end point;
 * - the triangle spanned by x0 and two end points: the fraction of a barycentric grid whose
 *   confidence stays above p_s(x0) - delta.
 */
import type { ConfidenceEvaluator } from './evaluator.js';

export async function lineConfidence(ev: ConfidenceEvaluator, x0: Float32Array, x1: Float32Array, source: number, points: number): Promise<number[]> {
  const per = x0.length;
  const xs = new Float32Array(points * per);
  for (let i = 0; i < points; i++) {
    const t = points === 1 ? 1 : i / (points - 1);
    for (let k = 0; k < per; k++) xs[i * per + k] = x0[k]! + t * (x1[k]! - x0[k]!);
  }
  const r = await ev.evaluate(xs, new Int32Array(points).fill(source), false);
  return Array.from(r.confidence);
}

export const TRIANGLE_DELTAS = [0, 0.1, 0.2, 0.3];

export interface TriangleStats {
  /** Grid points per side (G + 1 points on each edge). */
  grid: number;
  points: number;
  /** Fraction of grid points with p_s >= p_s(x0) - delta, for each delta in TRIANGLE_DELTAS. */
  fractionAbove: { delta: number; fraction: number }[];
}

export async function triangleConfidence(
  ev: ConfidenceEvaluator,
  x0: Float32Array,
  a: Float32Array,
  b: Float32Array,
  source: number,
  p0: number,
  grid: number,
): Promise<TriangleStats> {
  const per = x0.length;
  const coords: [number, number][] = [];
  for (let i = 0; i <= grid; i++) for (let j = 0; i + j <= grid; j++) coords.push([i / grid, j / grid]);
  const xs = new Float32Array(coords.length * per);
  coords.forEach(([u, v], n) => {
    for (let k = 0; k < per; k++) xs[n * per + k] = x0[k]! + u * (a[k]! - x0[k]!) + v * (b[k]! - x0[k]!);
  });
  const r = await ev.evaluate(xs, new Int32Array(coords.length).fill(source), false);
  return {
    grid,
    points: coords.length,
    fractionAbove: TRIANGLE_DELTAS.map((delta) => ({
      delta,
      fraction: r.confidence.reduce((s, p) => s + (p >= p0 - delta ? 1 : 0), 0) / coords.length,
    })),
  };
}
