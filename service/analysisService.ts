/**
 * Analyses: turn a request into a cache hit, a share of an identical job in flight, or a new
 * queued job; cancel; read results. The GraphQL resolvers and the CLI both go through here.
 */
import { randomUUID } from 'node:crypto';
import { AppError, toAppError } from '../common/errors.js';
import { validateParams } from '../analyzers/params.js';
import { canonicalJson } from '../common/canonicalJson.js';
import type { Store } from '../storage/store.js';
import type { Deletion } from '../storage/deletion.js';
import type { AnalysisFilter, NewAnalysis } from '../storage/analyses.js';
import type { AnalysisRecord, ArtifactRecord, DatasetFormat } from '../storage/records.js';
import { TERMINAL_STATUSES } from '../storage/records.js';
import { cacheKey } from '../storage/cacheKey.js';
import type { AnalyzerCatalog } from './analyzerCatalog.js';
import type { AnalysisEvents } from './events.js';
import type { JobQueue } from './jobs/queue.js';
import { executeJob, recordFailure, type JobLimits, type ProgressFn } from './jobs/execute.js';
import { checkDatasetFits } from './datasetService.js';

export interface RunAnalysisRequest {
  modelId: string;
  datasetId?: string | null;
  analyzer: string;
  params?: Record<string, unknown> | null;
}

/** Stops a running job's worker; the pool implements it (absent in the CLI, which runs in-process). */
export interface JobCanceller {
  cancel(analysisId: string): void;
}

export type PreparedAnalysis = NewAnalysis & {
  modelSha256: string;
  datasetSha256: string | null;
  datasetFormat: DatasetFormat | null;
};

export interface AnalysisLimits {
  /** A request that would queue a new job is refused (QUEUE_FULL) while this many wait; 0 = no limit. */
  maxQueuedJobs: number;
  /** What an in-process run (runNow) may allocate. */
  limits?: JobLimits;
}

export interface ImmediateOutcome {
  analysis: AnalysisRecord;
  result: unknown;
  cached: boolean;
}

export class AnalysisService {
  constructor(
    private readonly store: Store,
    private readonly catalog: AnalyzerCatalog,
    private readonly queue: JobQueue,
    private readonly events: AnalysisEvents,
    private readonly canceller?: JobCanceller,
    private readonly limits: AnalysisLimits = { maxQueuedJobs: 0 },
  ) {}

  /** Checks a request and computes its cache key, without storing anything. */
  async prepare(req: RunAnalysisRequest): Promise<PreparedAnalysis> {
    const analyzer = this.catalog.get(req.analyzer);
    const model = await this.store.models.byId(req.modelId);
    if (!model) throw new AppError('NOT_FOUND', `no model with id ${req.modelId}`, { modelId: req.modelId });
    const dataset = req.datasetId ? await this.store.datasets.byId(req.datasetId) : null;
    if (req.datasetId && !dataset) throw new AppError('NOT_FOUND', `no dataset with id ${req.datasetId}`, { datasetId: req.datasetId });
    if (analyzer.needsDataset && !dataset) throw new AppError('BAD_DATASET', `analyzer ${analyzer.name} needs a dataset (datasetId)`);
    if (dataset) checkDatasetFits(dataset, model);
    const params = validateParams(analyzer.params, req.params ?? {});
    analyzer.checkRequest?.(params, dataset !== null);
    const paramsJson = canonicalJson(params);
    return {
      id: randomUUID(),
      modelId: model.id,
      datasetId: dataset?.id ?? null,
      analyzer: analyzer.name,
      analyzerVersion: analyzer.version,
      paramsJson,
      modelSha256: model.sha256,
      datasetSha256: dataset?.sha256 ?? null,
      datasetFormat: dataset?.format ?? null,
      cacheKey: cacheKey({
        modelSha256: model.sha256,
        datasetSha256: dataset?.sha256 ?? null,
        analyzer: analyzer.name,
        analyzerVersion: analyzer.version,
        canonicalParams: paramsJson,
      }),
    };
  }

  /**
   * A cached answer at once; else the identical job already queued or running; else a new job.
   * With `admit` (API callers), a new job is refused with QUEUE_FULL while maxQueuedJobs wait;
   * zoo runs bound themselves (their concurrency) and are not refused.
   */
  async run(req: RunAnalysisRequest, opts: { admit?: boolean } = {}): Promise<AnalysisRecord> {
    const job = await this.prepare(req);
    // Identical requests arriving together are decided one after the other, so they share one job.
    return this.oneAtATime(job.cacheKey, async () => {
      if (await this.store.results.has(job.cacheKey)) return this.store.analyses.insertCached(job);
      const inFlight = await this.store.analyses.activeByKey(job.cacheKey);
      if (inFlight) return inFlight;
      if (opts.admit) await this.admit();
      const record = await this.queue.enqueue(job);
      this.events.publish(record.id);
      return record;
    });
  }

  /** QUEUE_FULL while maxQueuedJobs jobs wait (the check and the insert are not one transaction: a burst may overshoot by a few). */
  private async admit(): Promise<void> {
    const max = this.limits.maxQueuedJobs;
    if (max <= 0) return;
    const queued = await this.store.analyses.countQueued();
    if (queued >= max) {
      throw new AppError('QUEUE_FULL', `the job queue is full: ${queued} analyses wait, the limit is ${max} (ONNXSCOPE_MAX_QUEUED_JOBS); retry later`, {
        queued,
        limit: max,
      });
    }
  }

  /** Whether the queue submits groups of jobs together (runGroup then beats run() per request). */
  get groupsQueued(): boolean {
    return this.queue.enqueueGroup !== undefined;
  }

  /**
   * run() for many requests at once (a zoo run's items): cache hits and jobs in flight are
   * decided as run() decides, the new jobs go to the queue as one group. Per request, its
   * record or the error that refused it.
   */
  async runGroup(groupId: string, reqs: RunAnalysisRequest[]): Promise<Array<AnalysisRecord | AppError>> {
    if (!this.queue.enqueueGroup) return Promise.all(reqs.map((r) => this.run(r).catch(toAppError)));
    const out: Array<AnalysisRecord | AppError | undefined> = new Array(reqs.length);
    const fresh: PreparedAnalysis[] = [];
    const askers = new Map<string, number[]>();
    for (const [i, req] of reqs.entries()) {
      try {
        const job = await this.prepare(req);
        const same = askers.get(job.cacheKey);
        if (same) same.push(i);
        else if (await this.store.results.has(job.cacheKey)) out[i] = await this.store.analyses.insertCached(job);
        else {
          const inFlight = await this.store.analyses.activeByKey(job.cacheKey);
          if (inFlight) out[i] = inFlight;
          else (fresh.push(job), askers.set(job.cacheKey, [i]));
        }
      } catch (err) {
        out[i] = toAppError(err);
      }
    }
    const records = fresh.length > 0 ? await this.queue.enqueueGroup(groupId, fresh) : [];
    for (const [k, record] of records.entries()) {
      for (const i of askers.get(fresh[k]!.cacheKey)!) out[i] = record;
      this.events.publish(record.id);
    }
    return out as Array<AnalysisRecord | AppError>;
  }

  private readonly deciding = new Map<string, Promise<unknown>>();

  private async oneAtATime<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.deciding.get(key) ?? Promise.resolve();
    const mine = before.then(fn, fn);
    const settled = mine.catch(() => undefined);
    this.deciding.set(key, settled);
    try {
      return await mine;
    } finally {
      if (this.deciding.get(key) === settled) this.deciding.delete(key);
    }
  }

  /**
   * Runs the analysis in this process, now (the CLI): from the cache when it can, else through
   * the same executeJob a worker uses, filing the result in the same cache.
   */
  async runNow(req: RunAnalysisRequest, progress: ProgressFn, signal: AbortSignal): Promise<ImmediateOutcome> {
    const job = await this.prepare(req);
    const hit = await this.store.results.get(job.cacheKey);
    if (hit) return { analysis: await this.store.analyses.insertCached(job), result: hit.result, cached: true };
    const record = await this.store.analyses.insertRunning(job);
    const payload = {
      analysisId: record.id,
      attempt: record.attempts,
      cacheKey: job.cacheKey,
      modelSha256: job.modelSha256,
      datasetSha256: job.datasetSha256,
      datasetFormat: job.datasetFormat,
      analyzer: job.analyzer,
      analyzerVersion: job.analyzerVersion,
      paramsJson: job.paramsJson,
    };
    try {
      const outcome = await executeJob(this.store, this.catalog, payload, progress, signal, this.limits.limits);
      return { analysis: await this.get(record.id), result: outcome.result, cached: false };
    } catch (err) {
      throw await recordFailure(this.store, payload, err, signal);
    }
  }

  async cancel(id: string): Promise<AnalysisRecord> {
    const before = await this.get(id);
    if (TERMINAL_STATUSES.includes(before.status)) return before;
    if (await this.store.analyses.cancel(id)) {
      this.canceller?.cancel(id);
      this.events.publish(id);
    }
    return this.get(id);
  }

  /** Removes the analysis row, and its result and artifacts when no other analysis shares them (CONFLICT while it is queued or running). */
  delete(id: string): Promise<Deletion> {
    return this.store.delete({ kind: 'analysis', id });
  }

  async get(id: string): Promise<AnalysisRecord> {
    const a = await this.store.analyses.byId(id);
    if (!a) throw new AppError('NOT_FOUND', `no analysis with id ${id}`, { analysisId: id });
    return a;
  }

  list(filter: AnalysisFilter, offset: number, limit: number) {
    return this.store.analyses.list(filter, offset, limit);
  }

  /** The stored result of a succeeded analysis (null otherwise). */
  async result(a: AnalysisRecord): Promise<unknown> {
    if (a.status !== 'SUCCEEDED') return null;
    return (await this.store.results.get(a.cacheKey))?.result ?? null;
  }

  /** Files the analysis produced (empty until it SUCCEEDED; cached answers share their original's). */
  async artifacts(a: AnalysisRecord): Promise<ArtifactRecord[]> {
    if (a.status !== 'SUCCEEDED') return [];
    return this.store.results.artifacts(a.cacheKey);
  }

  async artifact(analysisId: string, name: string): Promise<{ record: ArtifactRecord; bytes: Uint8Array }> {
    const record = (await this.artifacts(await this.get(analysisId))).find((x) => x.name === name);
    if (!record) throw new AppError('NOT_FOUND', `analysis ${analysisId} has no artifact ${name}`);
    return { record, bytes: await this.store.blobs.get(record.sha256) };
  }
}
