/**
 * Phase diagrams (Yang et al. 2021, Fig. 1; Schurholt et al.'s zoo): one metric over two
 * hyperparameter axes (load-like: width; temperature-like: batch size or learning rate), each
 * cell the mean over the models in it (seeds, epochs), as a heatmap SVG with a diverging scale
 * centred where zooPhases.diagramCentre says.
 */
import { heatmap } from '../analyzers/landscape/svg.js';
import { diagramCentre, type MetricName, type PhaseThresholds } from './zooPhases.js';
import type { ZooModelView } from './zooService.js';

export interface PhaseDiagram {
  metric: MetricName;
  xAxis: string;
  yAxis: string;
  xValues: string[];
  yValues: string[];
  /** values[j][i]: mean metric at x = xValues[i], y = yValues[j]; null when no model there has it. */
  values: Array<Array<number | null>>;
  counts: number[][];
  centre: number | null;
  svg: string;
}

export function phaseDiagram(views: ZooModelView[], metric: MetricName, x: string, y: string, t: PhaseThresholds): PhaseDiagram {
  const axisValues = (k: string) => {
    const vals = [...new Set(views.map((v) => v.member.hyperparameters[k]).filter((v) => v !== undefined))];
    return vals.sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b)))).map(String);
  };
  const xs = axisValues(x);
  const ys = axisValues(y);
  const sums = ys.map(() => xs.map(() => 0));
  const counts = ys.map(() => xs.map(() => 0));
  for (const v of views) {
    const value = v.metrics[metric];
    const i = xs.indexOf(String(v.member.hyperparameters[x]));
    const j = ys.indexOf(String(v.member.hyperparameters[y]));
    if (value === null || i < 0 || j < 0) continue;
    sums[j]![i]! += value;
    counts[j]![i]!++;
  }
  const values = sums.map((row, j) => row.map((s, i) => (counts[j]![i]! > 0 ? s / counts[j]![i]! : null)));
  const centre = diagramCentre(metric, t);
  const svg = heatmap(values.map((r) => r.map((v) => v ?? NaN)), {
    title: `${metric} over ${x} x ${y}`, xLabel: x, yLabel: y, xTicks: xs, yTicks: ys, ...(centre !== undefined ? { centre } : {}),
  });
  return { metric, xAxis: x, yAxis: y, xValues: xs, yValues: ys, values, counts, centre: centre ?? null, svg };
}
