/** Line plots with uPlot: hover shows values, drag to zoom, double-click to reset. */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  values: ReadonlyArray<number | null>;
  color?: string;
}

const COLORS = ['#1f6feb', '#d73a49', '#2da44e', '#bf8700', '#8250df'];

export function LinePlot({ x, series, xLabel, yLabel, logY = false, width = 560, height = 260 }: { x: readonly number[]; series: Series[]; xLabel: string; yLabel: string; logY?: boolean; width?: number; height?: number }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    // A log axis cannot show zeros: floor them at a tiny fraction of the largest value.
    const floor = logY ? Math.max(...series.flatMap((s) => s.values.filter((v): v is number => v !== null && v > 0))) * 1e-8 : 0;
    const data = [Float64Array.from(x), ...series.map((s) => s.values.map((v) => (v === null ? null : logY ? Math.max(v, floor) : v)))] as uPlot.AlignedData;
    const plot = new uPlot(
      {
        width,
        height,
        scales: { x: { time: false }, y: logY ? { distr: 3 } : {} },
        axes: [{ label: xLabel }, { label: yLabel, size: 70, ...(logY ? { values: (_u: uPlot, splits: Array<number | null>) => splits.map((v) => (v === null ? '' : v >= 0.01 && v < 1e4 ? String(v) : v.toExponential(0))) } : {}) }],
        series: [{ label: xLabel }, ...series.map((s, i) => ({ label: s.label, stroke: s.color ?? COLORS[i % COLORS.length], width: 1.5, points: { show: x.length <= 60 } }))],
      },
      data,
      ref.current,
    );
    return () => plot.destroy();
  }, [x, series, xLabel, yLabel, logY, width, height]);
  return <div ref={ref} class="lineplot" />;
}
