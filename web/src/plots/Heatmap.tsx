/** A value grid as coloured SVG cells with hover values (confusion matrices, 2D loss surfaces). */
import { fmt } from '../ui';

const viridisish = (t: number) => {
  // Dark blue -> teal -> yellow; perceptually ordered enough to read a surface.
  const stops = [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
  ];
  const x = Math.min(0.9999, Math.max(0, t)) * (stops.length - 1);
  const i = Math.floor(x);
  const f = x - i;
  const c = stops[i]!.map((a, k) => Math.round(a + (stops[i + 1]![k]! - a) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
};

export function Heatmap({ values, xLabels, yLabels, xTitle, yTitle, cell = 28, showValues = false, log = false }: { values: Array<Array<number | null>>; xLabels: string[]; yLabels: string[]; xTitle: string; yTitle: string; cell?: number; showValues?: boolean; log?: boolean }) {
  const t = (v: number) => (log ? Math.log10(Math.max(v, 1e-12)) : v);
  const flat = values.flat().filter((v): v is number => v !== null && Number.isFinite(v)).map(t);
  const lo = Math.min(...flat);
  const hi = Math.max(...flat, lo + 1e-12);
  const left = 60;
  const top = 10;
  const w = left + xLabels.length * cell + 10;
  const h = top + yLabels.length * cell + 50;
  const every = (n: number) => Math.max(1, Math.ceil(n / 12));
  return (
    <svg class="heatmap" width={w} height={h} role="img">
      {values.map((row, j) =>
        row.map((v, i) => (
          <rect x={left + i * cell} y={top + j * cell} width={cell} height={cell} fill={v === null ? '#eee' : viridisish((t(v) - lo) / (hi - lo))}>
            <title>{`${yTitle} ${yLabels[j]}, ${xTitle} ${xLabels[i]}: ${fmt(v)}`}</title>
          </rect>
        )),
      )}
      {showValues &&
        values.map((row, j) =>
          row.map((v, i) => (
            <text x={left + i * cell + cell / 2} y={top + j * cell + cell / 2 + 4} text-anchor="middle" font-size="10" fill={v !== null && (t(v) - lo) / (hi - lo) > 0.6 ? '#000' : '#fff'} pointer-events="none">
              {v === null ? '' : fmt(v, 2)}
            </text>
          )),
        )}
      {xLabels.map((l, i) =>
        i % every(xLabels.length) === 0 ? (
          <text x={left + i * cell + cell / 2} y={top + yLabels.length * cell + 14} text-anchor="middle" font-size="10">
            {l}
          </text>
        ) : null,
      )}
      {yLabels.map((l, j) =>
        j % every(yLabels.length) === 0 ? (
          <text x={left - 4} y={top + j * cell + cell / 2 + 4} text-anchor="end" font-size="10">
            {l}
          </text>
        ) : null,
      )}
      <text x={left + (xLabels.length * cell) / 2} y={h - 8} text-anchor="middle" font-size="12">
        {xTitle}
      </text>
      <text x={12} y={top + (yLabels.length * cell) / 2} font-size="12" transform={`rotate(-90 12 ${top + (yLabels.length * cell) / 2})`} text-anchor="middle">
        {yTitle}
      </text>
    </svg>
  );
}
