/**
 * The plot module: plain SVG plots (no dependencies) for every analyzer artifact. Line plots
 * (landscape 1D surfaces and paths, weight spectra), a filled heatmap with iso-loss contour
 * lines (marching squares) for 2D surfaces, the same heatmap with a diverging scale for zoo
 * phase diagrams, and the Hessian's spectral density on a log scale.
 */

export interface Series {
  name: string;
  x: number[];
  y: number[];
  colour?: string;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
const W = 520;
const H = 360;
const M = { l: 60, r: 20, t: 30, b: 45 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : Number(v.toPrecision(4)).toString());

export function linePlot(title: string, xLabel: string, yLabel: string, series: Series[]): string {
  const xs = series.flatMap((s) => s.x);
  const ys = series.flatMap((s) => s.y).filter(Number.isFinite);
  const [x0, x1] = range(xs);
  const [y0, y1] = range(ys);
  const px = (x: number) => M.l + ((x - x0) / (x1 - x0 || 1)) * (W - M.l - M.r);
  const py = (y: number) => H - M.b - ((y - y0) / (y1 - y0 || 1)) * (H - M.t - M.b);
  const parts = [header(title), axes(x0, x1, y0, y1, xLabel, yLabel)];
  series.forEach((s, k) => {
    const c = s.colour ?? PALETTE[k % PALETTE.length]!;
    const pts = s.x.map((x, i) => (Number.isFinite(s.y[i]!) ? `${px(x).toFixed(1)},${py(s.y[i]!).toFixed(1)}` : null)).filter(Boolean);
    parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.join(' ')}"/>`);
    parts.push(`<text x="${W - M.r - 4}" y="${M.t + 14 * (k + 1)}" text-anchor="end" font-size="11" fill="${c}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export interface HeatmapOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Tick labels of the cells (categorical axes, e.g. hyperparameter values), else numeric ranges. */
  xTicks?: string[];
  yTicks?: string[];
  xRange?: [number, number];
  yRange?: [number, number];
  /** Diverging blue-white-red scale centred here (white); otherwise a sequential scale. */
  centre?: number;
  /** Iso-lines at these levels (marching squares). */
  contours?: number[];
}

/** values[row][col]: row = y index (bottom to top), col = x index. NaN cells are grey. */
export function heatmap(values: number[][], opts: HeatmapOptions): string {
  const rows = values.length;
  const cols = values[0]?.length ?? 0;
  const finite = values.flat().filter(Number.isFinite);
  const [lo, hi] = range(finite);
  const cw = (W - M.l - M.r - 50) / Math.max(1, cols);
  const ch = (H - M.t - M.b) / Math.max(1, rows);
  const colour = colourScale(lo, hi, opts.centre);
  const parts = [header(opts.title)];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = values[r]![c]!;
      const x = M.l + c * cw;
      const y = H - M.b - (r + 1) * ch;
      parts.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(cw + 0.5).toFixed(1)}" height="${(ch + 0.5).toFixed(1)}" fill="${Number.isFinite(v) ? colour(v) : '#bbbbbb'}"><title>${Number.isFinite(v) ? fmt(v) : 'n/a'}</title></rect>`);
      if (opts.xTicks || opts.yTicks) {
        parts.push(`<text x="${(x + cw / 2).toFixed(1)}" y="${(y + ch / 2 + 4).toFixed(1)}" text-anchor="middle" font-size="10">${Number.isFinite(v) ? fmt(v) : ''}</text>`);
      }
    }
  }
  for (const level of opts.contours ?? []) {
    const segs = marchingSquares(values, level);
    const d = segs
      .map(([a, b]) => `M${(M.l + (a[0] + 0.5) * cw).toFixed(1)},${(H - M.b - (a[1] + 0.5) * ch).toFixed(1)}L${(M.l + (b[0] + 0.5) * cw).toFixed(1)},${(H - M.b - (b[1] + 0.5) * ch).toFixed(1)}`)
      .join('');
    if (d) parts.push(`<path d="${d}" stroke="#000" stroke-width="0.8" fill="none" opacity="0.7"><title>${fmt(level)}</title></path>`);
  }
  // Axes: categorical ticks under the cells, or the numeric range at the ends.
  const xt = opts.xTicks ?? (opts.xRange ? [fmt(opts.xRange[0]), fmt(opts.xRange[1])] : []);
  const yt = opts.yTicks ?? (opts.yRange ? [fmt(opts.yRange[0]), fmt(opts.yRange[1])] : []);
  xt.forEach((t, i) => {
    const x = opts.xTicks ? M.l + (i + 0.5) * cw : M.l + i * cw * cols;
    parts.push(`<text x="${x.toFixed(1)}" y="${H - M.b + 14}" text-anchor="middle" font-size="10">${esc(t)}</text>`);
  });
  yt.forEach((t, i) => {
    const y = opts.yTicks ? H - M.b - (i + 0.5) * ch : H - M.b - i * ch * rows;
    parts.push(`<text x="${M.l - 4}" y="${(y + 3).toFixed(1)}" text-anchor="end" font-size="10">${esc(t)}</text>`);
  });
  parts.push(`<text x="${(M.l + (cw * cols) / 2).toFixed(1)}" y="${H - 8}" text-anchor="middle" font-size="12">${esc(opts.xLabel)}</text>`);
  parts.push(`<text x="14" y="${(H / 2).toFixed(1)}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${(H / 2).toFixed(1)})">${esc(opts.yLabel)}</text>`);
  // Colour bar.
  const bx = W - M.r - 30;
  for (let i = 0; i < 20; i++) {
    const v = lo + ((hi - lo) * (i + 0.5)) / 20;
    parts.push(`<rect x="${bx}" y="${(H - M.b - ((i + 1) * (H - M.t - M.b)) / 20).toFixed(1)}" width="12" height="${((H - M.t - M.b) / 20 + 0.5).toFixed(1)}" fill="${colour(v)}"/>`);
  }
  parts.push(`<text x="${bx + 14}" y="${H - M.b}" font-size="9">${fmt(lo)}</text><text x="${bx + 14}" y="${M.t + 8}" font-size="9">${fmt(hi)}</text>`);
  if (opts.centre !== undefined) parts.push(`<text x="${bx + 14}" y="${M.t - 6}" font-size="9">centre ${fmt(opts.centre)}</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

/**
 * A diverging scale puts `centre` at white and stretches each side to its own extreme, so the
 * sign of (value - centre) is what the eye reads; the sequential scale runs light to dark blue.
 */
export function colourScale(lo: number, hi: number, centre?: number): (v: number) => string {
  const mix = (a: number[], b: number[], t: number) => `rgb(${a.map((x, i) => Math.round(x + (b[i]! - x) * Math.min(1, Math.max(0, t)))).join(',')})`;
  const white = [247, 247, 247];
  const blue = [33, 102, 172];
  const red = [178, 24, 43];
  if (centre === undefined) return (v) => mix([239, 243, 255], [8, 48, 107], (v - lo) / (hi - lo || 1));
  return (v) => (v >= centre ? mix(white, red, (v - centre) / (Math.max(hi, centre) - centre || 1)) : mix(white, blue, (centre - v) / (centre - Math.min(lo, centre) || 1)));
}

type Pt = [number, number];

/** Iso-line segments of a grid at `level`, in cell-centre coordinates (x = col, y = row). */
export function marchingSquares(v: number[][], level: number): Array<[Pt, Pt]> {
  const segs: Array<[Pt, Pt]> = [];
  const interp = (p: Pt, q: Pt, a: number, b: number): Pt => {
    const t = (level - a) / (b - a);
    return [p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t];
  };
  for (let r = 0; r + 1 < v.length; r++) {
    for (let c = 0; c + 1 < v[r]!.length; c++) {
      const corners: Array<[Pt, number]> = [
        [[c, r], v[r]![c]!],
        [[c + 1, r], v[r]![c + 1]!],
        [[c + 1, r + 1], v[r + 1]![c + 1]!],
        [[c, r + 1], v[r + 1]![c]!],
      ];
      if (corners.some(([, x]) => !Number.isFinite(x))) continue;
      const cross: Pt[] = [];
      for (let e = 0; e < 4; e++) {
        const [p, a] = corners[e]!;
        const [q, b] = corners[(e + 1) % 4]!;
        if ((a < level) !== (b < level)) cross.push(interp(p, q, a, b));
      }
      if (cross.length === 2) segs.push([cross[0]!, cross[1]!]);
      else if (cross.length === 4) segs.push([cross[0]!, cross[1]!], [cross[2]!, cross[3]!]);
    }
  }
  return segs;
}

function header(title: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="#fff"/>\n<text x="${W / 2}" y="18" text-anchor="middle" font-size="13">${esc(title)}</text>`;
}

function axes(x0: number, x1: number, y0: number, y1: number, xl: string, yl: string): string {
  return [
    `<line x1="${M.l}" y1="${H - M.b}" x2="${W - M.r}" y2="${H - M.b}" stroke="#333"/>`,
    `<line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${H - M.b}" stroke="#333"/>`,
    `<text x="${M.l}" y="${H - M.b + 14}" font-size="10" text-anchor="middle">${fmt(x0)}</text>`,
    `<text x="${W - M.r}" y="${H - M.b + 14}" font-size="10" text-anchor="middle">${fmt(x1)}</text>`,
    `<text x="${M.l - 4}" y="${H - M.b}" font-size="10" text-anchor="end">${fmt(y0)}</text>`,
    `<text x="${M.l - 4}" y="${M.t + 8}" font-size="10" text-anchor="end">${fmt(y1)}</text>`,
    `<text x="${(M.l + W - M.r) / 2}" y="${H - 8}" text-anchor="middle" font-size="12">${esc(xl)}</text>`,
    `<text x="14" y="${H / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${H / 2})">${esc(yl)}</text>`,
  ].join('\n');
}

function range(v: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of v) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  if (!Number.isFinite(lo)) return [0, 1];
  return lo === hi ? [lo - 0.5, hi + 0.5] : [lo, hi];
}

/**
 * The Hessian's spectral density as a small hand-written SVG: log-scale density (plus 1e-7, as
 * PyHessian's get_esd_plot) against eigenvalue. The grid is reduced to one point per pixel
 * column by taking each column's maximum, so isolated outlier eigenvalues stay visible.
 */
const DW = 640;
const DH = 400;
const PAD = { left: 70, right: 20, top: 20, bottom: 50 };
const FLOOR = 1e-7;

const fmtTick = (x: number): string => {
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e4 || a < 1e-2 ? x.toExponential(1) : Number(x.toPrecision(3)).toString();
};

export function densitySvg(grid: readonly number[], density: readonly number[], title = 'Hessian eigenvalue density (SLQ)'): string {
  const pw = DW - PAD.left - PAD.right;
  const ph = DH - PAD.top - PAD.bottom;
  const lo = grid[0] ?? 0;
  const hi = grid[grid.length - 1] ?? 1;
  const span = hi > lo ? hi - lo : 1;
  const cols = new Float64Array(pw + 1).fill(-Infinity);
  for (let j = 0; j < grid.length; j++) {
    const c = Math.round(((grid[j]! - lo) / span) * pw);
    cols[c] = Math.max(cols[c]!, Math.log10(density[j]! + FLOOR));
  }
  const finite = Array.from(cols).filter((v) => Number.isFinite(v));
  const yMin = Math.floor(Math.min(...finite, Math.log10(FLOOR)));
  const yMax = Math.ceil(Math.max(...finite, yMin + 1));
  const px = (x: number) => PAD.left + ((x - lo) / span) * pw;
  const py = (ly: number) => PAD.top + (1 - (ly - yMin) / (yMax - yMin)) * ph;
  const points: string[] = [];
  cols.forEach((v, c) => {
    if (Number.isFinite(v)) points.push(`${(PAD.left + c).toFixed(1)},${py(v).toFixed(1)}`);
  });
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${DW}" height="${DH}" viewBox="0 0 ${DW} ${DH}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${DW}" height="${DH}" fill="white"/>`);
  parts.push(`<text x="${DW / 2}" y="14" text-anchor="middle">${title}</text>`);
  parts.push(`<rect x="${PAD.left}" y="${PAD.top}" width="${pw}" height="${ph}" fill="none" stroke="black"/>`);
  for (let k = 0; k <= 4; k++) {
    const x = lo + (span * k) / 4;
    const X = px(x).toFixed(1);
    parts.push(`<line x1="${X}" y1="${PAD.top + ph}" x2="${X}" y2="${PAD.top + ph + 5}" stroke="black"/>`);
    parts.push(`<text x="${X}" y="${PAD.top + ph + 18}" text-anchor="middle">${fmtTick(x)}</text>`);
  }
  const step = Math.max(1, Math.ceil((yMax - yMin) / 8));
  for (let e = yMin; e <= yMax; e += step) {
    const Y = py(e).toFixed(1);
    parts.push(`<line x1="${PAD.left - 5}" y1="${Y}" x2="${PAD.left}" y2="${Y}" stroke="black"/>`);
    parts.push(`<text x="${PAD.left - 8}" y="${Y}" text-anchor="end" dominant-baseline="middle">1e${e}</text>`);
  }
  parts.push(`<text x="${PAD.left + pw / 2}" y="${DH - 10}" text-anchor="middle">eigenvalue</text>`);
  parts.push(`<text x="16" y="${PAD.top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${PAD.top + ph / 2})">density (log scale)</text>`);
  parts.push(`<polyline fill="none" stroke="#1f77b4" stroke-width="1.2" points="${points.join(' ')}"/>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
