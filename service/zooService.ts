/**
 * Zoos: create one from a manifest and its ONNX files, fan a batch analysis out over it, and read
 * each model's phase metrics and label back. The parts, by job: zooManifest.ts / zooArchive.ts
 * read the upload, zooPlan.ts plans a run's items, zooDriver.ts drives them (queue or embedded),
 * zooViews.ts reads models, metrics and diagrams. The server's App holds one in queue mode
 * (App.close() stops its poller); the CLI's local services one in embedded mode.
 * Either way, the results cache means a finished analysis is never computed twice.
 */
import { createHash, randomUUID } from 'node:crypto';
import { AppError, toAppError } from '../common/errors.js';
import { canonicalJson } from '../common/canonicalJson.js';
import type { Store } from '../storage/store.js';
import type { ModelRecord } from '../storage/records.js';
import { ZooRepo, type ZooAxes, type ZooItemRecord, type ZooMemberRecord, type ZooRecord, type ZooRunRecord, type ZooRunSpec } from '../storage/zoos.js';
import type { ModelService } from './modelService.js';
import type { AnalysisService } from './analysisService.js';
import { detectAxes, parseManifest } from './zooManifest.js';
import { readZooArchive, type ZooUpload } from './zooArchive.js';
import { planItems } from './zooPlan.js';
import { ZooDriver, type EmbeddedProgress, type ZooProgress } from './zooDriver.js';
import { ZooViews, type ModelsQuery } from './zooViews.js';
import type { PhaseThresholds, ZooModelView } from './zooPhases.js';
import type { PhaseDiagram } from './zooDiagram.js';

export type { ZooModelView } from './zooPhases.js';
export type { EmbeddedProgress, ZooProgress } from './zooDriver.js';
export type { MetricFilter, ModelsQuery } from './zooViews.js';
export { planItems, seedPairs } from './zooPlan.js';

export const DEFAULT_ZOO_ANALYZERS = ['evaluate', 'hessian', 'landscape'];

export interface CreateZooInput extends ZooUpload {
  name?: string | null;
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

/** A zoo run as read: advanced one step first (queue-driven runs), with its progress and failures. */
export interface ZooRunView {
  run: ZooRunRecord;
  progress: ZooProgress;
  failures: ZooItemRecord[];
}

export class ZooService {
  readonly repo: ZooRepo;
  private readonly driver: ZooDriver;
  private readonly views: ZooViews;

  constructor(
    store: Store,
    private readonly models: ModelService,
    private readonly analyses: AnalysisService,
    private readonly mode: { kind: 'queue'; pollMs?: number } | { kind: 'embedded' },
  ) {
    this.repo = new ZooRepo(store.db);
    this.driver = new ZooDriver(store, this.repo, analyses);
    this.views = new ZooViews(store, this.repo);
    // Queue mode: runs left RUNNING by a previous process resume here.
    if (mode.kind === 'queue') this.driver.startPoller(mode.pollMs ?? 500);
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

  /** createZoo with the ONNX files taken from a zip archive (zooArchive.ts). */
  async createZooFromArchive(name: string | null, given: { text: string; filename: string } | null, zip: Uint8Array, maxBytes: number, axes?: Partial<ZooAxes>): Promise<ZooRecord> {
    return this.createZoo({ name, ...readZooArchive(given, zip, maxBytes), ...(axes ? { axes } : {}) });
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
      if (this.mode.kind === 'queue') await this.driver.pump(existing.id);
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
    if (this.mode.kind === 'queue') await this.driver.pump(run.id);
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

  progress(runId: string): Promise<ZooProgress> {
    return this.driver.progress(runId);
  }

  failures(runId: string): Promise<ZooItemRecord[]> {
    return this.repo.items(runId, 'FAILED');
  }

  /**
   * The run as read, advanced one step first (idempotent): queue-driven runs move on even before
   * the poller's next tick. Not a run a CLI process drives (embedded): that process owns its items.
   */
  async readRun(id: string): Promise<ZooRunView> {
    if ((await this.run(id)).spec.driver !== 'embedded') await this.driver.pump(id);
    return { run: await this.run(id), progress: await this.progress(id), failures: await this.failures(id) };
  }

  /** Queue driver, one step (zooDriver.ts). */
  pump(runId: string): Promise<void> {
    return this.driver.pump(runId);
  }

  /** Embedded driver: every unfinished item in this process (zooDriver.ts). */
  runEmbedded(runId: string, onProgress: EmbeddedProgress, signal: AbortSignal, itemTimeoutMs = 0): Promise<ZooProgress> {
    return this.driver.runEmbedded(runId, onProgress, signal, itemTimeoutMs);
  }

  /** Stops the queue poller (App.close() calls it before the store closes). */
  close(): void {
    this.driver.close();
  }

  // ---- metrics and phases (zooViews.ts) ----

  async modelViews(zooId: string, q: ModelsQuery = {}): Promise<ZooModelView[]> {
    return this.views.modelViews(await this.get(zooId), q);
  }

  async diagram(zooId: string, metric: string, opts: { x?: string | null; y?: string | null; thresholds?: Partial<PhaseThresholds> | null } = {}): Promise<PhaseDiagram> {
    return this.views.diagram(await this.get(zooId), metric, opts);
  }
}
