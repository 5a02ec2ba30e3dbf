/**
 * Phase metrics of zoo models and their phase labels, after Yang et al. (NeurIPS 2021,
 * "Taxonomizing local versus global structure in neural network loss landscapes", Table 1):
 *
 *   phase | training loss | local (Hessian)  | global (mode connectivity mc) | CKA
 *   I     | high          | sharp            | mc < 0 (barrier)              |
 *   II    | high          | sharp            | mc > 0 (dip: under-trained)   |
 *   III   | low           | flat             | mc < 0                        |
 *   IV-A  | low           | flat             | mc ~ 0                        | low
 *   IV-B  | low           | flat             | mc ~ 0                        | high
 *
 * The paper draws its boundaries from the diagrams rather than from fixed numbers, so ours are
 * parameters, reported with every label (defaults below). The training loss decides
 * high/low; when the Hessian disagrees (high loss but flat, low loss but sharp) the label still
 * follows the loss and says so in `notes`.
 */
import type { ModelRecord } from '../storage/records.js';
import type { ZooMemberRecord } from '../storage/zoos.js';
export const METRIC_NAMES = [
  'trainLoss', 'trainAccuracy', 'testLoss', 'testAccuracy', 'hessianTop', 'hessianTrace', 'mc', 'mcLinear', 'barrier', 'cka',
  'weightsAlpha', 'weightsAlphaWeighted', 'weightsSpikes',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];
export type ZooMetrics = Record<MetricName, number | null>;

export interface PhaseThresholds {
  /** Mean training loss above this is "high" (under-trained). Default 0.1 (cross-entropy nats). */
  lossThreshold: number;
  /** Top Hessian eigenvalue above this is "sharp". Default null: the zoo's median top eigenvalue. */
  sharpnessThreshold: number | null;
  /** |mc| <= this counts as mc ~ 0 (well connected). Default 0.05. */
  mcTolerance: number;
  /** CKA at or above this is "high" (IV-B). Default 0.9. */
  ckaThreshold: number;
}

export const DEFAULT_THRESHOLDS: PhaseThresholds = { lossThreshold: 0.1, sharpnessThreshold: null, mcTolerance: 0.05, ckaThreshold: 0.9 };

export type PhaseName = 'I' | 'II' | 'III' | 'IV-A' | 'IV-B' | 'IV';

export interface PhaseLabel {
  /** null when a metric it needs is missing (see `missing`). 'IV' when CKA is missing. */
  label: PhaseName | null;
  reason: string;
  highLoss: boolean | null;
  sharp: boolean | null;
  /** 'poor' (mc < -tol), 'well' (|mc| <= tol), 'dip' (mc > tol). */
  connectivity: 'poor' | 'well' | 'dip' | null;
  highCka: boolean | null;
  /** The thresholds used, the sharpness one resolved. */
  thresholds: PhaseThresholds & { sharpnessThreshold: number | null };
  missing: string[];
  notes: string[];
}

export function emptyMetrics(): ZooMetrics {
  return Object.fromEntries(METRIC_NAMES.map((m) => [m, null])) as ZooMetrics;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const get = (o: unknown, ...path: Array<string | number>): unknown => path.reduce<unknown>((x, k) => (x && typeof x === 'object' ? (x as Record<string | number, unknown>)[k] : undefined), o);

/** Folds one stored result into the metrics (which fields, by analyzer and role). */
export function absorbResult(m: ZooMetrics, analyzer: string, role: string, result: unknown): void {
  if (analyzer === 'evaluate') {
    const loss = num(get(result, 'loss'));
    const acc = num(get(result, 'accuracy'));
    if (role === 'test') {
      m.testLoss = loss;
      m.testAccuracy = acc;
    } else {
      m.trainLoss = loss;
      m.trainAccuracy = acc;
    }
  } else if (analyzer === 'hessian') {
    m.hessianTop = num(get(result, 'topEigenvalues', 0, 'value')) ?? num(get(result, 'sharpness', 'value'));
    m.hessianTrace = num(get(result, 'trace', 'estimate'));
  } else if (analyzer === 'landscape') {
    m.mcLinear = num(get(result, 'interpolation', 'mcLinear'));
    // mc is defined on the trained curve (Yang et al.); the straight line stands in when no curve was trained.
    m.mc = num(get(result, 'curve', 'mc')) ?? m.mcLinear;
    m.barrier = num(get(result, 'curve', 'barrier')) ?? num(get(result, 'interpolation', 'barrier'));
    m.cka = num(get(result, 'cka', 'value'));
    // A landscape run also gives the loss at the model: a training loss when evaluate did not run.
    m.trainLoss ??= num(get(result, 'loss'));
    m.trainAccuracy ??= num(get(result, 'accuracy'));
  } else if (analyzer === 'weights') {
    // Data-free spectral metrics (Martin & Mahoney): mean layer alpha and alpha-hat, spikes summed.
    m.weightsAlpha = num(get(result, 'summary', 'alpha'));
    m.weightsAlphaWeighted = num(get(result, 'summary', 'alphaWeighted'));
    m.weightsSpikes = num(get(result, 'summary', 'numSpikes'));
  }
}

export function resolveThresholds(given: Partial<PhaseThresholds> | null | undefined, all: ZooMetrics[]): PhaseThresholds {
  const t = { ...DEFAULT_THRESHOLDS, ...Object.fromEntries(Object.entries(given ?? {}).filter(([, v]) => v !== undefined && v !== null)) } as PhaseThresholds;
  if (t.sharpnessThreshold === null) {
    const tops = all.map((m) => m.hessianTop).filter((v): v is number => v !== null).sort((a, b) => a - b);
    if (tops.length > 0) t.sharpnessThreshold = tops.length % 2 ? tops[(tops.length - 1) / 2]! : (tops[tops.length / 2 - 1]! + tops[tops.length / 2]!) / 2;
  }
  return t;
}

export function labelPhase(m: ZooMetrics, t: PhaseThresholds): PhaseLabel {
  const missing = (['trainLoss', 'hessianTop', 'mc', 'cka'] as const).filter((k) => m[k] === null);
  const notes: string[] = [];
  const highLoss = m.trainLoss === null ? null : m.trainLoss > t.lossThreshold;
  const sharp = m.hessianTop === null || t.sharpnessThreshold === null ? null : m.hessianTop > t.sharpnessThreshold;
  const connectivity = m.mc === null ? null : m.mc < -t.mcTolerance ? 'poor' : m.mc > t.mcTolerance ? 'dip' : 'well';
  const highCka = m.cka === null ? null : m.cka >= t.ckaThreshold;
  const base = { highLoss, sharp, connectivity, highCka, thresholds: t, missing, notes } as const;
  if (highLoss === null) return { ...base, label: null, reason: 'no training loss' };
  if (m.mc === null) return { ...base, label: null, reason: 'no mode connectivity (mc): the model has no seed partner or landscape did not run' };
  if (sharp !== null && sharp !== highLoss) notes.push(`loss and sharpness disagree (${highLoss ? 'high loss but flat' : 'low loss but sharp'}); labelled by the loss`);
  const lossText = `train loss ${fmt(m.trainLoss!)} ${highLoss ? '>' : '<='} ${fmt(t.lossThreshold)}`;
  if (highLoss) {
    const label = m.mc < 0 ? 'I' : 'II';
    return { ...base, label, reason: `${lossText}; mc ${fmt(m.mc)} ${m.mc < 0 ? '< 0' : '>= 0'}` };
  }
  if (connectivity === 'poor') return { ...base, label: 'III', reason: `${lossText}; mc ${fmt(m.mc)} < -${fmt(t.mcTolerance)}` };
  if (connectivity === 'dip') notes.push(`mc ${fmt(m.mc)} > ${fmt(t.mcTolerance)} at low loss (not in Yang et al.'s table); counted as connected`);
  if (highCka === null) return { ...base, label: 'IV', reason: `${lossText}; mc ${fmt(m.mc)} >= -${fmt(t.mcTolerance)}; no CKA to split IV-A/IV-B` };
  return {
    ...base,
    label: highCka ? 'IV-B' : 'IV-A',
    reason: `${lossText}; mc ${fmt(m.mc)} >= -${fmt(t.mcTolerance)}; CKA ${fmt(m.cka!)} ${highCka ? '>=' : '<'} ${fmt(t.ckaThreshold)}`,
  };
}

const fmt = (v: number) => Number(v.toPrecision(4)).toString();

/**
 * Where each metric's diagram is centred (white on a blue-white-red scale): mc and the barrier
 * at 0, as Yang et al. colour mode connectivity (the sign is the phase boundary); loss, sharpness
 * and CKA at their phase thresholds; accuracies and the trace get a sequential scale.
 */
export function diagramCentre(metric: MetricName, t: PhaseThresholds): number | undefined {
  switch (metric) {
    case 'mc':
    case 'mcLinear':
      return 0;
    case 'trainLoss':
    case 'testLoss':
      return t.lossThreshold;
    case 'hessianTop':
      return t.sharpnessThreshold ?? undefined;
    case 'cka':
      return t.ckaThreshold;
    default:
      return undefined;
  }
}

/** One member of a zoo as the views show it: its record, model, metrics and phase label. */
export interface ZooModelView {
  member: ZooMemberRecord;
  model: ModelRecord;
  seed: number | string | null;
  partnerModelId: string | null;
  metrics: ZooMetrics;
  phase: PhaseLabel;
}
