/**
 * What a zoo looks like when read: each model with its metrics (the newest result per metric
 * across the zoo's runs) and phase label, filtered and sorted, and phase diagrams over two axes.
 */
import { AppError } from '../common/errors.js';
import type { Store } from '../storage/store.js';
import type { ModelRecord } from '../storage/records.js';
import type { ZooMemberRecord, ZooRecord, ZooRepo } from '../storage/zoos.js';
import { absorbResult, emptyMetrics, labelPhase, METRIC_NAMES, resolveThresholds, type MetricName, type PhaseThresholds, type ZooModelView } from './zooPhases.js';
import { phaseDiagram, phaseLabelDiagram, type PhaseDiagram } from './zooDiagram.js';
import { partnerMap, seedOf } from './zooPlan.js';

export interface MetricFilter {
  metric: string;
  min?: number | null;
  max?: number | null;
}

export interface ModelsQuery {
  thresholds?: Partial<PhaseThresholds> | null;
  sortBy?: string | null;
  descending?: boolean | null;
  filters?: MetricFilter[] | null;
  phase?: string | null;
}

export class ZooViews {
  constructor(
    private readonly store: Store,
    private readonly repo: ZooRepo,
  ) {}

  /** Every zoo model with its metrics (newest result per metric across the zoo's runs) and phase label. */
  async modelViews(zoo: ZooRecord, q: ModelsQuery = {}): Promise<ZooModelView[]> {
    const members = await this.repo.members(zoo.id);
    const metrics = new Map(members.map((m) => [m.modelId, emptyMetrics()]));
    const partners = partnerMap(members);
    const runs = (await this.repo.runs(zoo.id)).reverse(); // oldest first: newer results overwrite
    for (const run of runs) {
      for (const it of await this.repo.items(run.id, 'SUCCEEDED')) {
        if (!it.cacheKey) continue;
        const result = (await this.store.results.get(it.cacheKey))?.result;
        if (result === undefined) continue;
        const own = metrics.get(it.modelId);
        if (own) absorbResult(own, it.analyzer, it.role, result);
        // mc and CKA belong to the pair: the partner gets them too (not the loss at the other end).
        const mate = it.role.startsWith('pair:') ? metrics.get(it.role.slice(5)) : undefined;
        if (mate && it.analyzer === 'landscape') {
          const copy = emptyMetrics();
          absorbResult(copy, it.analyzer, it.role, result);
          for (const k of ['mc', 'mcLinear', 'barrier', 'cka'] as const) mate[k] = copy[k];
        }
      }
    }
    const thresholds = resolveThresholds(q.thresholds, [...metrics.values()]);
    const models = new Map((await Promise.all(members.map((m) => this.store.models.byId(m.modelId)))).filter((m): m is ModelRecord => !!m).map((m) => [m.id, m]));
    let views: ZooModelView[] = members
      .filter((m) => models.has(m.modelId))
      .map((m) => {
        const mm = metrics.get(m.modelId)!;
        return { member: m, model: models.get(m.modelId)!, seed: seedOf(m.hyperparameters), partnerModelId: partners.get(m.modelId) ?? null, metrics: mm, phase: labelPhase(mm, thresholds) };
      });
    for (const f of q.filters ?? []) {
      views = views.filter((v) => {
        const x = valueOf(v, f.metric);
        if (typeof x !== 'number') return false;
        return (f.min === undefined || f.min === null || x >= f.min) && (f.max === undefined || f.max === null || x <= f.max);
      });
    }
    if (q.phase) views = views.filter((v) => v.phase.label === q.phase || (q.phase === 'IV' && v.phase.label?.startsWith('IV')));
    if (q.sortBy) {
      const key = q.sortBy;
      if (!isKnownKey(key, members)) throw new AppError('BAD_PARAMS', `unknown sort key ${key}; metrics: ${METRIC_NAMES.join(', ')}, or a hyperparameter`);
      const dir = q.descending ? -1 : 1;
      // Missing values sort last either way.
      views.sort((a, b) => {
        const x = valueOf(a, key);
        const y = valueOf(b, key);
        if (x === null || x === undefined) return y === null || y === undefined ? 0 : 1;
        if (y === null || y === undefined) return -1;
        return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y))) * dir;
      });
    }
    return views;
  }

  async diagram(zoo: ZooRecord, metric: string, opts: { x?: string | null; y?: string | null; thresholds?: Partial<PhaseThresholds> | null } = {}): Promise<PhaseDiagram> {
    if (metric !== 'phase' && !(METRIC_NAMES as readonly string[]).includes(metric)) {
      throw new AppError('BAD_PARAMS', `unknown metric ${metric}; known: ${METRIC_NAMES.join(', ')}, phase`);
    }
    const x = opts.x ?? zoo.axes.load;
    const y = opts.y ?? zoo.axes.temperature;
    if (!x || !y) throw new AppError('BAD_PARAMS', 'the zoo has no load/temperature axes: name two hyperparameters (x, y)');
    const views = await this.modelViews(zoo, { thresholds: opts.thresholds ?? null });
    const thresholds = views[0]?.phase.thresholds ?? resolveThresholds(opts.thresholds, []);
    return metric === 'phase' ? phaseLabelDiagram(views, x, y) : phaseDiagram(views, metric as MetricName, x, y, thresholds);
  }
}

function valueOf(v: ZooModelView, key: string): number | string | null | undefined {
  if ((METRIC_NAMES as readonly string[]).includes(key)) return v.metrics[key as MetricName];
  if (key === 'phase') return v.phase.label;
  return v.member.hyperparameters[key];
}

function isKnownKey(key: string, members: ZooMemberRecord[]): boolean {
  return (METRIC_NAMES as readonly string[]).includes(key) || key === 'phase' || members.some((m) => key in m.hyperparameters);
}
