/**
 * Scalar summaries of a loss curve between two end points, as Yang et al. (NeurIPS 2021,
 * "Taxonomizing local versus global structure in neural network loss landscapes", Eq. 2) define
 * mode connectivity on a Bezier curve phi(t):
 *   mc = (L(phi(0)) + L(phi(1))) / 2 - L(phi(t*)),  t* = argmax_t |(L(phi(0)) + L(phi(1))) / 2 - L(phi(t))|
 * mc < 0: a barrier between the models (poorly connected); mc > 0: the path goes below the end
 * points (the end points are not minima: under-trained); mc ~ 0: well connected.
 * The barrier (Frankle et al. / Garipov et al.) is max_t L(t) - max(L0, L1).
 */
export interface PathSummary {
  /** max over the path minus the larger end-point loss (>= 0 on any grid containing the ends). */
  barrier: number;
  mc: number;
  tStar: number;
  /** Index of t* in the grid. */
  argStar: number;
}

export function summarizePath(ts: ArrayLike<number>, losses: ArrayLike<number>): PathSummary {
  const n = losses.length;
  const l0 = losses[0]!;
  const l1 = losses[n - 1]!;
  const mid = (l0 + l1) / 2;
  let max = -Infinity;
  let star = 0;
  let best = -1;
  for (let i = 0; i < n; i++) {
    const l = losses[i]!;
    if (l > max) max = l;
    const dev = Math.abs(mid - l);
    if (dev > best) {
      best = dev;
      star = i;
    }
  }
  return { barrier: max - Math.max(l0, l1), mc: mid - losses[star]!, tStar: ts[star]!, argStar: star };
}

/** n equally spaced values from a to b inclusive. */
export function linspace(a: number, b: number, n: number): number[] {
  if (n === 1) return [a];
  return Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));
}

/**
 * Linear CKA (Kornblith et al. 2019, Eq. 5 with a linear kernel):
 *   CKA(X, Y) = ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F),  X, Y column-centred, n rows.
 * Invariant to orthogonal transforms and isotropic scaling of either side. X is n x p, Y n x q,
 * row-major. Computed in feature space (p x q products, O(n p q)) or, when the features
 * outnumber the examples, through the n x n Gram matrices (the equivalent
 * <K_c, L_c>_F / (||K_c|| ||L_c||) with K = X X^T).
 */
export function linearCka(x: Float64Array, p: number, y: Float64Array, q: number, n: number): number {
  const xc = centerColumns(x, n, p);
  const yc = centerColumns(y, n, q);
  if (p * q <= n * n) {
    const xy = crossProduct(xc, p, yc, q, n);
    const xx = crossProduct(xc, p, xc, p, n);
    const yy = crossProduct(yc, q, yc, q, n);
    return sumSq(xy) / Math.sqrt(sumSq(xx) * sumSq(yy));
  }
  const k = gram(xc, n, p);
  const l = gram(yc, n, q);
  let kl = 0;
  for (let i = 0; i < k.length; i++) kl += k[i]! * l[i]!;
  return kl / Math.sqrt(sumSq(k) * sumSq(l));
}

export function centerColumns(a: Float64Array, n: number, p: number): Float64Array {
  const out = Float64Array.from(a);
  for (let j = 0; j < p; j++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += a[i * p + j]!;
    mean /= n;
    for (let i = 0; i < n; i++) out[i * p + j] = out[i * p + j]! - mean;
  }
  return out;
}

/** A^T B for row-major n x p A and n x q B: p x q. */
function crossProduct(a: Float64Array, p: number, b: Float64Array, q: number, n: number): Float64Array {
  const out = new Float64Array(p * q);
  for (let i = 0; i < n; i++) {
    const ar = i * p;
    const br = i * q;
    for (let j = 0; j < p; j++) {
      const v = a[ar + j]!;
      if (v === 0) continue;
      const o = j * q;
      for (let k = 0; k < q; k++) out[o + k] = out[o + k]! + v * b[br + k]!;
    }
  }
  return out;
}

/** A A^T for row-major n x p A: n x n. */
function gram(a: Float64Array, n: number, p: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < p; k++) s += a[i * p + k]! * a[j * p + k]!;
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  }
  return out;
}

function sumSq(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return s;
}
