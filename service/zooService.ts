/**
 * Zoos: create one from a manifest and its ONNX files, fan a batch analysis out over it, and read
 * each model's phase metrics and label back.
 *
 * A zoo run is persisted as items (storage/zoos.ts), one per (model, analyzer, role). Two
 * drivers move items forward, sharing everything else:
 *  - queue (the server): items become jobs of the persisted queue through AnalysisService.run, at
 *    most `concurrency` in flight; a poller advances them as jobs end. After a restart, the
 *    queued jobs carry on in the worker pool and the poller resumes on the first zoo request.
 *  - embedded (the CLI, tests): items run in this process through AnalysisService.runNow,
 *    `concurrency` at a time; an interrupted item goes back to PENDING, and running the same spec
 *    again resumes the unfinished run.
 * Either way, the results cache means a finished analysis is never computed twice, and one
 * failing item is recorded and skipped, never stops the run.
 */
import { createHash, randomUUID } from 'node:crypto';
import { unzipSync } from 'fflate';
import { AppError, toAppError } from '../common/errors.js';
import { canonicalJson } from '../common/canonicalJson.js';
import type { Store } from '../storage/store.js';
import type { AnalysisRecord, ModelRecord } from '../storage/records.js';
import { ZooRepo, type Hyperparameters, type ZooAxes, type ZooItemRecord, type ZooMemberRecord, type ZooRecord, type ZooRunRecord, type ZooRunSpec } from '../storage/zoos.js';
import type { ModelService } from './modelService.js';
import type { AnalysisService } from './analysisService.js';
import { detectAxes, parseManifest } from './zooManifest.js';
import { absorbResult, emptyMetrics, labelPhase, METRIC_NAMES, resolveThresholds, type MetricName, type PhaseLabel, type PhaseThresholds, type ZooMetrics, type ZooModelView } from './zooPhases.js';

export type { ZooModelView } from './zooPhases.js';
import { phaseDiagram, phaseLabelDiagram, type PhaseDiagram } from './zooDiagram.js';

export const DEFAULT_ZOO_ANALYZERS = ['evaluate', 'hessian', 'landscape'];

export interface CreateZooInput {
  name?: string | null;
  manifest: { text: string; filename: string };
  /** Bytes of a file the manifest names (relative path as written there). */
  readFile: (file: string) => Promise<Uint8Array>;
  axes?: Partial<ZooAxes>;
}

export interface RunZooInput {
  zooId: string;
  analyzers?: string[] | null;
  /** Params per analyzer name, e.g. { hessian: { maxIter: 30 } }. */
  params?: Record<string, Record<string, unknown>> | null;
  datasetId: string;
  /** Test set for evaluate (test loss/accuracy); optional. */
  testDatasetId?: string | null;
  concurrency?: number | null;
}

export interface ZooProgress {
  total: number;
  succeeded: number;
  failed: number;
  pending: number;
  running: number;
  /** Items whose analysis came from the cache. */
  cached: number;
  done: number;
  /** "k of N". */
  text: string;
}

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

export type EmbeddedProgress = (p: ZooProgress, last: ZooItemRecord | null) => void;

export class ZooService {
  readonly repo: ZooRepo;
  private poller: NodeJS.Timeout | null = null;
  private pumping = false;
  private readonly pumps = new Map<string, Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly models: ModelService,
    private readonly analyses: AnalysisService,
    private readonly mode: { kind: 'queue'; pollMs?: number } | { kind: 'embedded' },
  ) {
    this.repo = new ZooRepo(store.db);
    // Queue mode: runs left RUNNING by a previous process resume here.
    if (mode.kind === 'queue') this.startPoller(mode.pollMs ?? 500);
  }

  // ---- zoos ----

  async createZoo(input: CreateZooInput): Promise<ZooRecord> {
    const manifest = parseManifest(input.manifest.text, input.manifest.filename);
    const axes = detectAxes(manifest.entries, { ...manifest.axes, ...(input.axes ?? {}) });
    const members: Array<Omit<ZooMemberRecord, 'zooId'>> = [];
    for (const [position, e] of manifest.entries.entries()) {
      let model: ModelRecord;
      try {
        model = await this.models.ingest(await input.readFile(e.file), e.file.replace(/^.*[\\/]/, '').replace(/\.onnx$/i, ''));
      } catch (err) {
        const app = toAppError(err);
        throw new AppError(app.code, `zoo model ${e.file}: ${app.message}`, { file: e.file });
      }
      members.push({ position, modelId: model.id, file: e.file, hyperparameters: e.hyperparameters });
    }
    const name = input.name?.trim() || manifest.name || `zoo-${new Date().toISOString()}`;
    return this.repo.create({ id: randomUUID(), name, axes, metadata: manifest.metadata }, members);
  }

  /** createZoo with the ONNX files taken from a zip archive (matched by path, else by unique base name). */
  async createZooFromArchive(name: string | null, given: { text: string; filename: string } | null, zip: Uint8Array, maxBytes: number, axes?: Partial<ZooAxes>): Promise<ZooRecord> {
    let total = 0;
    let files: Record<string, Uint8Array>;
    try {
      files = unzipSync(zip, {
        filter: (f) => {
          // Refuse by the declared sizes before inflating anything (zip bombs).
          total += f.originalSize;
          if (total > maxBytes) throw new AppError('TOO_LARGE', `the zoo archive inflates to more than ${maxBytes} bytes`);
          return !f.name.endsWith('/');
        },
      });
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError('BAD_PARAMS', `zoo archive: not a readable zip (${(err as Error).message})`);
    }
    const norm = (p: string) => p.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
    const byPath = new Map(Object.entries(files).map(([k, v]) => [norm(k), v]));
    // Without a separate manifest, the archive carries one (manifest.json / manifest.csv, the
    // shallowest), and the files it names are relative to its folder.
    let manifest = given;
    let base = '';
    if (!manifest) {
      const found = [...byPath.keys()].filter((k) => /(^|\/)manifest\.(json|csv)$/i.test(k)).sort((a, b) => a.split('/').length - b.split('/').length)[0];
      if (!found) throw new AppError('BAD_PARAMS', 'zoo archive: no manifest given and none (manifest.json or manifest.csv) inside the archive');
      manifest = { text: new TextDecoder().decode(byPath.get(found)!), filename: found };
      base = found.includes('/') ? found.slice(0, found.lastIndexOf('/') + 1) : '';
    }
    const readFile = async (file: string) => {
      const exact = byPath.get(norm(base + norm(file))) ?? byPath.get(norm(file));
      if (exact) return exact;
      const leaf = norm(file).split('/').pop()!;
      const hits = [...byPath.entries()].filter(([k]) => k.split('/').pop() === leaf);
      if (hits.length === 1) return hits[0]![1];
      throw new AppError('BAD_PARAMS', `zoo archive: ${hits.length === 0 ? 'no file' : 'several files'} matching ${file}`, { file });
    };
    return this.createZoo({ name, manifest, readFile, ...(axes ? { axes } : {}) });
  }

  async get(id: string): Promise<ZooRecord> {
    const z = (await this.repo.byId(id)) ?? (await this.repo.byName(id));
    if (!z) throw new AppError('NOT_FOUND', `no zoo with id ${id}`, { zooId: id });
    return z;
  }

  list(): Promise<ZooRecord[]> {
    return this.repo.list();
  }

  members(zooId: string): Promise<ZooMemberRecord[]> {
    return this.repo.members(zooId);
  }

  // ---- runs ----

  /** Creates the run (or returns the unfinished one with the same spec) and, in queue mode, starts it. */
  async startRun(input: RunZooInput): Promise<ZooRunRecord> {
    const zoo = await this.get(input.zooId);
    const analyzers = input.analyzers && input.analyzers.length > 0 ? [...new Set(input.analyzers)] : DEFAULT_ZOO_ANALYZERS;
    const spec: ZooRunSpec = { analyzers, params: input.params ?? {}, datasetId: input.datasetId, testDatasetId: input.testDatasetId ?? null };
    const specKey = createHash('sha256').update(canonicalJson(spec as unknown as Record<string, unknown>)).digest('hex');
    spec.driver = this.mode.kind;
    const concurrency = Math.max(1, Math.min(256, Math.trunc(input.concurrency ?? 2)));
    const existing = await this.repo.unfinishedRun(zoo.id, specKey);
    if (existing) {
      await this.repo.setDriver(existing.id, this.mode.kind);
      if (this.mode.kind === 'queue') await this.pump(existing.id);
      return (await this.repo.run(existing.id))!;
    }
    const members = await this.repo.members(zoo.id);
    const items = planItems(members, spec);
    // Check every request up front (unknown analyzer, bad params, missing dataset): BAD_PARAMS now, not N failures later.
    const seen = new Set<string>();
    for (const it of items) {
      const key = `${it.analyzer}/${it.datasetId}`;
      if (seen.has(key)) continue;
      seen.add(key);
      await this.analyses.prepare({ modelId: it.modelId, datasetId: it.datasetId, analyzer: it.analyzer, params: it.params });
    }
    const run = await this.repo.createRun({ id: randomUUID(), zooId: zoo.id, spec, specKey, concurrency }, items);
    if (this.mode.kind === 'queue') await this.pump(run.id);
    return (await this.repo.run(run.id))!;
  }

  async run(id: string): Promise<ZooRunRecord> {
    const r = await this.repo.run(id);
    if (!r) throw new AppError('NOT_FOUND', `no zoo run with id ${id}`, { zooRunId: id });
    return r;
  }

  runs(zooId: string): Promise<ZooRunRecord[]> {
    return this.repo.runs(zooId);
  }

  async progress(runId: string): Promise<ZooProgress> {
    const c = await this.repo.counts(runId);
    const items = await this.repo.items(runId, 'SUCCEEDED');
    const total = c.PENDING + c.SUBMITTED + c.SUCCEEDED + c.FAILED;
    const done = c.SUCCEEDED + c.FAILED;
    return { total, succeeded: c.SUCCEEDED, failed: c.FAILED, pending: c.PENDING, running: c.SUBMITTED, cached: items.filter((i) => i.cached).length, done, text: `${done} of ${total}` };
  }

  failures(runId: string): Promise<ZooItemRecord[]> {
    return this.repo.items(runId, 'FAILED');
  }

  /**
   * Queue driver, one step: settle submitted items whose jobs ended, submit pending ones up to
   * the concurrency limit (cache hits settle at once and take no slot), finish the run when no
   * item is left. Idempotent; safe to call from any request.
   */
  pump(runId: string): Promise<void> {
    // One step at a time per run (poller and requests both call this): two concurrent steps
    // would each see a free slot and overshoot the concurrency limit.
    const prev = this.pumps.get(runId) ?? Promise.resolve();
    const next = prev.then(() => this.pumpStep(runId), () => this.pumpStep(runId));
    const tail = next.catch(() => undefined);
    this.pumps.set(runId, tail);
    void tail.then(() => {
      if (this.pumps.get(runId) === tail) this.pumps.delete(runId);
    });
    return next;
  }

  private async pumpStep(runId: string): Promise<void> {
    const run = await this.run(runId);
    if (run.status !== 'RUNNING') return;
    let inFlight = 0;
    for (const it of await this.repo.items(runId, 'SUBMITTED')) {
      const a = it.analysisId ? await this.store.analyses.byId(it.analysisId) : undefined;
      if (!a) await this.repo.markPending(runId, it.seq);
      else if (a.status === 'SUCCEEDED') await this.repo.markSucceeded(runId, it.seq, a.id, a.cacheKey, a.cached);
      else if (a.status === 'FAILED' || a.status === 'CANCELLED') await this.repo.markFailed(runId, it.seq, a.error?.code ?? a.status, a.error?.message ?? a.status.toLowerCase(), a.id);
      else inFlight++;
    }
    const pending = await this.repo.items(runId, 'PENDING');
    if (this.analyses.groupsQueued && pending.length > 0) {
      // A distributed queue takes the whole run as one group (a BullMQ flow); the workers' number bounds what runs at once.
      const outcomes = await this.analyses.runGroup(runId, pending.map(requestOf));
      for (const [k, it] of pending.entries()) await this.settleSubmitted(runId, it, outcomes[k]!);
      pending.length = 0;
    }
    for (const it of pending) {
      if (inFlight >= run.concurrency) break;
      try {
        const a = await this.analyses.run(requestOf(it));
        if (a.status === 'SUCCEEDED') await this.repo.markSucceeded(runId, it.seq, a.id, a.cacheKey, a.cached);
        else {
          await this.repo.markSubmitted(runId, it.seq, a.id, a.cacheKey);
          inFlight++;
        }
      } catch (err) {
        const e = toAppError(err);
        await this.repo.markFailed(runId, it.seq, e.code, e.message);
      }
    }
    const c = await this.repo.counts(runId);
    if (c.PENDING === 0 && c.SUBMITTED === 0) await this.repo.finishRun(runId);
  }

  private async settleSubmitted(runId: string, it: ZooItemRecord, a: AnalysisRecord | AppError): Promise<void> {
    if (a instanceof AppError) await this.repo.markFailed(runId, it.seq, a.code, a.message);
    else if (a.status === 'SUCCEEDED') await this.repo.markSucceeded(runId, it.seq, a.id, a.cacheKey, a.cached);
    else await this.repo.markSubmitted(runId, it.seq, a.id, a.cacheKey);
  }

  /**
   * Embedded driver: runs every unfinished item in this process, `concurrency` at a time.
   * Stops starting new items when `signal` aborts; the interrupted ones go back to PENDING.
   */
  async runEmbedded(runId: string, onProgress: EmbeddedProgress, signal: AbortSignal, itemTimeoutMs = 0): Promise<ZooProgress> {
    const run = await this.run(runId);
    // SUBMITTED here means a process died mid-item: its analysis may even have finished (then the cache answers).
    for (const it of await this.repo.items(runId, 'SUBMITTED')) await this.repo.markPending(runId, it.seq);
    const queue = await this.repo.items(runId, 'PENDING');
    onProgress(await this.progress(runId), null);
    const worker = async () => {
      for (let it = queue.shift(); it && !signal.aborted; it = queue.shift()) {
        await this.repo.markSubmitted(runId, it.seq, '', '');
        // Each item gets its own time budget (a runaway model fails alone, TIMEOUT); the run's signal stops everything.
        const item = new AbortController();
        const stop = () => item.abort(signal.reason);
        signal.addEventListener('abort', stop, { once: true });
        const timer = itemTimeoutMs > 0 ? setTimeout(() => item.abort(new AppError('TIMEOUT', `the analysis exceeded its time budget of ${itemTimeoutMs} ms`)), itemTimeoutMs) : null;
        try {
          const out = await this.analyses.runNow(requestOf(it), () => undefined, item.signal);
          await this.repo.markSucceeded(runId, it.seq, out.analysis.id, out.analysis.cacheKey, out.cached);
        } catch (err) {
          if (signal.aborted) {
            await this.repo.markPending(runId, it.seq);
            break;
          }
          const e = toAppError(err);
          await this.repo.markFailed(runId, it.seq, e.code, e.message);
        } finally {
          if (timer) clearTimeout(timer);
          signal.removeEventListener('abort', stop);
        }
        onProgress(await this.progress(runId), it);
      }
    };
    await Promise.all(Array.from({ length: Math.min(run.concurrency, Math.max(1, queue.length)) }, worker));
    const p = await this.progress(runId);
    if (p.pending === 0 && p.running === 0) await this.repo.finishRun(runId);
    return p;
  }

  close(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
  }

  private startPoller(ms: number): void {
    this.poller = setInterval(() => void this.pumpAll(), ms);
    this.poller.unref();
  }

  private async pumpAll(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (const r of await this.repo.activeRuns()) if (r.spec.driver !== 'embedded') await this.pump(r.id);
    } catch {
      // The store closed under us (shutdown): stop polling; the next process resumes the runs.
      this.close();
    } finally {
      this.pumping = false;
    }
  }

  // ---- metrics and phases ----

  /** Every zoo model with its metrics (newest result per metric across the zoo's runs) and phase label. */
  async modelViews(zooId: string, q: ModelsQuery = {}): Promise<ZooModelView[]> {
    const zoo = await this.get(zooId);
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

  async diagram(zooId: string, metric: string, opts: { x?: string | null; y?: string | null; thresholds?: Partial<PhaseThresholds> | null } = {}): Promise<PhaseDiagram> {
    const zoo = await this.get(zooId);
    if (metric !== 'phase' && !(METRIC_NAMES as readonly string[]).includes(metric)) {
      throw new AppError('BAD_PARAMS', `unknown metric ${metric}; known: ${METRIC_NAMES.join(', ')}, phase`);
    }
    const x = opts.x ?? zoo.axes.load;
    const y = opts.y ?? zoo.axes.temperature;
    if (!x || !y) throw new AppError('BAD_PARAMS', 'the zoo has no load/temperature axes: name two hyperparameters (x, y)');
    const views = await this.modelViews(zoo.id, { thresholds: opts.thresholds ?? null });
    const thresholds = views[0]?.phase.thresholds ?? resolveThresholds(opts.thresholds, []);
    return metric === 'phase' ? phaseLabelDiagram(views, x, y) : phaseDiagram(views, metric as MetricName, x, y, thresholds);
  }
}

/** The analysis request an item stands for. */
function requestOf(it: ZooItemRecord) {
  return { modelId: it.modelId, datasetId: it.datasetId, analyzer: it.analyzer, params: it.params };
}

const SEED_KEYS = new Set(['seed', 'Seed', 'SEED', 'random_seed', 'randomSeed']);

function seedOf(hp: Hyperparameters): number | string | null {
  for (const k of Object.keys(hp)) if (SEED_KEYS.has(k)) return hp[k]!;
  return null;
}

/**
 * Seed partners (Yang et al.: mc and CKA are measured between two models trained with the same
 * hyperparameters from different seeds). Models with equal hyperparameters except the seed are
 * sorted by seed and paired (0,1), (2,3), ...; an odd one out pairs with the first.
 */
export function seedPairs(members: ZooMemberRecord[]): Array<[string, string]> {
  const groups = new Map<string, ZooMemberRecord[]>();
  for (const m of members) {
    const rest = Object.fromEntries(Object.entries(m.hyperparameters).filter(([k]) => !SEED_KEYS.has(k)).sort(([a], [b]) => a.localeCompare(b)));
    const key = JSON.stringify(rest);
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  const pairs: Array<[string, string]> = [];
  for (const g of groups.values()) {
    const sorted = [...g].sort((a, b) => compare(seedOf(a.hyperparameters), seedOf(b.hyperparameters)) || a.position - b.position);
    for (let i = 0; i + 1 < sorted.length; i += 2) pairs.push([sorted[i]!.modelId, sorted[i + 1]!.modelId]);
    if (sorted.length % 2 === 1 && sorted.length > 1) pairs.push([sorted.at(-1)!.modelId, sorted[0]!.modelId]);
  }
  return pairs.filter(([a, b]) => a !== b);
}

function partnerMap(members: ZooMemberRecord[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [a, b] of seedPairs(members)) {
    if (!out.has(a)) out.set(a, b);
    if (!out.has(b)) out.set(b, a);
  }
  return out;
}

const compare = (a: number | string | null, b: number | string | null) =>
  typeof a === 'number' && typeof b === 'number' ? a - b : String(a ?? '').localeCompare(String(b ?? ''));

/** One item per model and analyzer (evaluate twice with a test set; landscape once per seed pair). */
export function planItems(members: ZooMemberRecord[], spec: ZooRunSpec): Array<Omit<ZooItemRecord, 'runId' | 'analysisId' | 'cacheKey' | 'cached' | 'status' | 'error'>> {
  const items: Array<Omit<ZooItemRecord, 'runId' | 'analysisId' | 'cacheKey' | 'cached' | 'status' | 'error'>> = [];
  const push = (modelId: string, analyzer: string, role: string, datasetId: string | null, params: Record<string, unknown>) =>
    items.push({ seq: items.length, modelId, analyzer, role, datasetId, params });
  const pairs = seedPairs(members);
  for (const analyzer of spec.analyzers) {
    const params = spec.params[analyzer] ?? {};
    if (analyzer === 'landscape') {
      for (const [a, b] of pairs) push(a, analyzer, `pair:${b}`, spec.datasetId, { surface: 'none', ...params, otherModel: b });
      continue;
    }
    for (const m of members) {
      push(m.modelId, analyzer, 'train', spec.datasetId, params);
      if (analyzer === 'evaluate' && spec.testDatasetId) push(m.modelId, analyzer, 'test', spec.testDatasetId, params);
    }
  }
  return items;
}

function valueOf(v: ZooModelView, key: string): number | string | null | undefined {
  if ((METRIC_NAMES as readonly string[]).includes(key)) return v.metrics[key as MetricName];
  if (key === 'phase') return v.phase.label;
  return v.member.hyperparameters[key];
}

function isKnownKey(key: string, members: ZooMemberRecord[]): boolean {
  return (METRIC_NAMES as readonly string[]).includes(key) || key === 'phase' || members.some((m) => key in m.hyperparameters);
}

const services = new WeakMap<object, ZooService>();

/**
 * The zoo service of an app (server) or local services (CLI), made on first use: App and
 * LocalServices stay as they are, and the queue poller starts with the first zoo request.
 */
export function zooServiceFor(host: { store: Store; models: ModelService; analyses: AnalysisService }, mode: 'queue' | 'embedded'): ZooService {
  let s = services.get(host);
  if (!s) {
    s = new ZooService(host.store, host.models, host.analyses, mode === 'queue' ? { kind: 'queue' } : { kind: 'embedded' });
    services.set(host, s);
  }
  return s;
}
