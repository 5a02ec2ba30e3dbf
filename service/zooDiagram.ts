/**
 * Phase diagrams (Yang et al. 2021, Fig. 1; Schurholt et al.'s zoo): one metric over two
 * hyperparameter axes (load-like: width; temperature-like: batch size or learning rate), each
 * cell the mean over the models in it (seeds, epochs), as a heatmap SVG with a diverging scale
 * centred where zooPhases.diagramCentre says.
 */
import { heatmap } from '../analyzers/common/plot.js';
import { diagramCentre, type MetricName, type PhaseThresholds, type ZooModelView } from './zooPhases.js';

export interface PhaseDiagram {
  metric: MetricName | 'phase';
  xAxis: string;
  yAxis: string;
  xValues: string[];
  yValues: string[];
  /** values[j][i]: mean metric at x = xValues[i], y = yValues[j]; null when no model there has it. */
  values: Array<Array<number | null>>;
  counts: number[][];
  centre: number | null;
  /** metric 'phase': the most common label per cell (ties: the first in I, II, III, IV-A, IV-B order). */
  labels: Array<Array<string | null>> | null;
  svg: string;
}

export function phaseDiagram(views: ZooModelView[], metric: MetricName, x: string, y: string, t: PhaseThresholds): PhaseDiagram {
  const xs = axisValues(views, x);
  const ys = axisValues(views, y);
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
  return { metric, xAxis: x, yAxis: y, xValues: xs, yValues: ys, values, counts, centre: centre ?? null, labels: null, svg };
}

function axisValues(views: ZooModelView[], k: string): string[] {
  const vals = [...new Set(views.map((v) => v.member.hyperparameters[k]).filter((v) => v !== undefined))];
  return vals.sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b)))).map(String);
}

const PHASES = ['I', 'II', 'III', 'IV', 'IV-A', 'IV-B'];
/** Categorical colours: under-trained phases warm, well-trained ones cool (as in Yang et al.'s Fig. 1 layout). */
const PHASE_COLOURS: Record<string, string> = { I: '#d73027', II: '#fc8d59', III: '#fee090', IV: '#91bfdb', 'IV-A': '#91bfdb', 'IV-B': '#4575b4' };

/** The phase label map: the majority label of each cell, as an SVG of coloured, labelled cells. */
export function phaseLabelDiagram(views: ZooModelView[], x: string, y: string): PhaseDiagram {
  const xs = axisValues(views, x);
  const ys = axisValues(views, y);
  const tallies = ys.map(() => xs.map(() => new Map<string, number>()));
  const counts = ys.map(() => xs.map(() => 0));
  for (const v of views) {
    const i = xs.indexOf(String(v.member.hyperparameters[x]));
    const j = ys.indexOf(String(v.member.hyperparameters[y]));
    if (i < 0 || j < 0 || !v.phase.label) continue;
    const t = tallies[j]![i]!;
    t.set(v.phase.label, (t.get(v.phase.label) ?? 0) + 1);
    counts[j]![i]!++;
  }
  const labels = tallies.map((row) =>
    row.map((t) => {
      let best: string | null = null;
      for (const p of PHASES) if ((t.get(p) ?? 0) > (best ? t.get(best)! : 0)) best = p;
      return best;
    }),
  );
  const W = 120 + 70 * xs.length;
  const H = 90 + 40 * ys.length;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="13">phase over ${esc(x)} x ${esc(y)}</text>`];
  labels.forEach((row, j) =>
    row.forEach((l, i) => {
      const cx = 80 + 70 * i;
      const cy = H - 50 - 40 * (j + 1);
      parts.push(`<rect x="${cx}" y="${cy}" width="70" height="40" fill="${l ? PHASE_COLOURS[l] : '#bbbbbb'}" stroke="#fff"/>`);
      parts.push(`<text x="${cx + 35}" y="${cy + 25}" text-anchor="middle" font-size="13">${l ?? ''}</text>`);
    }),
  );
  xs.forEach((v, i) => parts.push(`<text x="${115 + 70 * i}" y="${H - 34}" text-anchor="middle" font-size="10">${esc(v)}</text>`));
  ys.forEach((v, j) => parts.push(`<text x="74" y="${H - 50 - 40 * j - 16}" text-anchor="end" font-size="10">${esc(v)}</text>`));
  parts.push(`<text x="${80 + 35 * xs.length}" y="${H - 10}" text-anchor="middle" font-size="12">${esc(x)}</text>`);
  parts.push(`<text x="14" y="${H / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${H / 2})">${esc(y)}</text></svg>`);
  return { metric: 'phase', xAxis: x, yAxis: y, xValues: xs, yValues: ys, values: labels.map((r) => r.map(() => null)), counts, centre: null, labels, svg: parts.join('\n') };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
