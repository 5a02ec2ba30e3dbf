/**
 * The spectral density as a small hand-written SVG: log-scale density (plus 1e-7, as
 * PyHessian's get_esd_plot) against eigenvalue. The grid is reduced to one point per pixel
 * column by taking each column's maximum, so isolated outlier eigenvalues stay visible.
 */

const W = 640;
const H = 400;
const PAD = { left: 70, right: 20, top: 20, bottom: 50 };
const FLOOR = 1e-7;

const fmt = (x: number): string => {
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e4 || a < 1e-2 ? x.toExponential(1) : Number(x.toPrecision(3)).toString();
};

export function densitySvg(grid: readonly number[], density: readonly number[], title = 'Hessian eigenvalue density (SLQ)'): string {
  const pw = W - PAD.left - PAD.right;
  const ph = H - PAD.top - PAD.bottom;
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
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="14" text-anchor="middle">${title}</text>`);
  parts.push(`<rect x="${PAD.left}" y="${PAD.top}" width="${pw}" height="${ph}" fill="none" stroke="black"/>`);
  for (let k = 0; k <= 4; k++) {
    const x = lo + (span * k) / 4;
    const X = px(x).toFixed(1);
    parts.push(`<line x1="${X}" y1="${PAD.top + ph}" x2="${X}" y2="${PAD.top + ph + 5}" stroke="black"/>`);
    parts.push(`<text x="${X}" y="${PAD.top + ph + 18}" text-anchor="middle">${fmt(x)}</text>`);
  }
  const step = Math.max(1, Math.ceil((yMax - yMin) / 8));
  for (let e = yMin; e <= yMax; e += step) {
    const Y = py(e).toFixed(1);
    parts.push(`<line x1="${PAD.left - 5}" y1="${Y}" x2="${PAD.left}" y2="${Y}" stroke="black"/>`);
    parts.push(`<text x="${PAD.left - 8}" y="${Y}" text-anchor="end" dominant-baseline="middle">1e${e}</text>`);
  }
  parts.push(`<text x="${PAD.left + pw / 2}" y="${H - 10}" text-anchor="middle">eigenvalue</text>`);
  parts.push(`<text x="16" y="${PAD.top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${PAD.top + ph / 2})">density (log scale)</text>`);
  parts.push(`<polyline fill="none" stroke="#1f77b4" stroke-width="1.2" points="${points.join(' ')}"/>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
