/** Horizontal bars in SVG (a <title> per bar shows its value on hover). */
import { fmt } from '../ui';

export function Bars({ items, log = false, unit = '' }: { items: Array<{ label: string; value: number }>; log?: boolean; unit?: string }) {
  const rowH = 20;
  const labelW = 180;
  const barW = 320;
  const t = (v: number) => (log ? Math.log10(Math.max(v, 1e-12)) : v);
  const vals = items.map((i) => t(i.value));
  const lo = log ? Math.min(...vals) - 1 : Math.min(0, ...vals);
  const hi = Math.max(...vals, lo + 1e-12);
  const w = (v: number) => Math.max(1, ((t(v) - lo) / (hi - lo)) * barW);
  return (
    <svg class="bars" width={labelW + barW + 90} height={items.length * rowH + 4} role="img">
      {items.map((it, i) => (
        <g transform={`translate(0 ${i * rowH + 2})`}>
          <text x={labelW - 6} y={14} text-anchor="end" font-size="12">
            {it.label.length > 28 ? `…${it.label.slice(-27)}` : it.label}
          </text>
          <rect x={labelW} y={2} width={w(it.value)} height={rowH - 5} fill="#1f6feb">
            <title>{`${it.label}: ${fmt(it.value)}${unit}`}</title>
          </rect>
          <text x={labelW + w(it.value) + 4} y={14} font-size="11">
            {fmt(it.value)}
          </text>
        </g>
      ))}
    </svg>
  );
}
