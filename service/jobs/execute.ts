/**
 * Runs one job to a result: load the model and dataset from the blob store by hash, run the
 * analyzer, store the result and the job's end in one transaction. The worker process and the
 * CLI both call this, so they behave identically.
 */
import type { Store } from '../../storage/store.js';
import type { AnalyzerCatalog } from '../analyzerCatalog.js';
import { AppError } from '../../common/errors.js';
import { loadStoredModel } from '../modelService.js';
import { loadStoredDataset, type DatasetSource } from '../datasetService.js';
import type { JobPayload } from './payload.js';
import type { LoadedModel } from '../../analyzers/types.js';
import { BlobArtifactSink } from './artifacts.js';
import type { BlobReader, BlobWriter } from '../../storage/blobs.js';
import type { ArtifactRecord } from '../../storage/records.js';
import { runSpecialized } from '../../analyzers/common/fixed-dims.js';
import { checkInputs } from '../../datasets/inputCheck.js';
import { checkTensorSizes, jobError } from './resourceGuard.js';

export type ProgressFn = (fraction: number, message?: string) => void;

export interface JobOutcome {
  /** False when the database no longer expected this attempt (cancelled, timed out, re-queued). */
  recorded: boolean;
  result: unknown;
  durationMs: number;
}

/** Where a job's inputs come from and its artifacts go: the store here, the server's blobs on a remote worker. */
export interface JobSources extends DatasetSource {
  blobs: BlobReader & BlobWriter;
  /** Another model by id or sha256 (checkpoint series, interpolation between two models). */
  resolveModel(ref: string): Promise<LoadedModel>;
}

/** The memory an analysis may use (config.workerMaxRssMb): no single tensor the graph fixes may be larger. */
export interface JobLimits {
  maxTensorBytes: number;
  /** The setting that sets it, named in RESOURCE_LIMIT messages. */
  setting: string;
}

export const jobLimitsOf = (config: { workerMaxRssMb: number }): JobLimits => ({
  maxTensorBytes: config.workerMaxRssMb * 1024 * 1024,
  setting: 'ONNXSCOPE_WORKER_MAX_RSS_MB',
});

export interface ComputedJob {
  result: unknown;
  durationMs: number;
  artifacts: ArtifactRecord[];
}

/** Runs the analyzer of one job: nothing is recorded (a remote worker sends this to the server). */
export async function computeJob(
  sources: JobSources,
  catalog: AnalyzerCatalog,
  job: JobPayload,
  progress: ProgressFn,
  signal: AbortSignal,
  limits?: JobLimits,
): Promise<ComputedJob> {
  const started = performance.now();
  const analyzer = catalog.get(job.analyzer);
  if (analyzer.version !== job.analyzerVersion) {
    // The cache key names the version; running another one would file its result under a wrong key.
    throw new AppError('INTERNAL', `job wants ${job.analyzer} v${job.analyzerVersion}, this build has v${analyzer.version}`);
  }
  const model = await loadStoredModel(sources, job.modelSha256);
  if (limits) checkTensorSizes(model.ir, limits.maxTensorBytes, limits.setting);
  const dataset =
    job.datasetSha256 && job.datasetFormat ? await loadStoredDataset(sources, job.datasetSha256, job.datasetFormat, model.ir) : null;
  throwIfAborted(signal);
  const artifacts = new BlobArtifactSink(sources.blobs);
  const params = JSON.parse(job.paramsJson) as Record<string, never>;
  // Symbolic dims beyond the batch take the dataset's sizes; the result says which (fixedDims).
  const analyzed = await runSpecialized(analyzer, {
    model,
    dataset,
    params,
    progress,
    signal,
    artifacts,
    resolveModel: (ref) => sources.resolveModel(ref),
  });
  throwIfAborted(signal);
  const result = withWarnings(analyzed, dataset ? checkInputs(dataset, model.ir, params) : null);
  return { result, durationMs: Math.round(performance.now() - started), artifacts: artifacts.stored() };
}

/** Runs one job and stores its result in the store's cache (workers of the local pool, the CLI). */
export async function executeJob(
  store: Store,
  catalog: AnalyzerCatalog,
  job: JobPayload,
  progress: ProgressFn,
  signal: AbortSignal,
  limits?: JobLimits,
): Promise<JobOutcome> {
  const sources: JobSources = { blobs: store.blobs, datasets: store.datasets, resolveModel: (ref) => resolveStoredModel(store, ref) };
  const { result, durationMs, artifacts } = await computeJob(sources, catalog, job, progress, signal, limits);
  const recorded = await store.analyses.complete(
    { id: job.analysisId, attempt: job.attempt, cacheKey: job.cacheKey, modelSha256: job.modelSha256,
      datasetSha256: job.datasetSha256, analyzer: job.analyzer, analyzerVersion: job.analyzerVersion, paramsJson: job.paramsJson },
    JSON.stringify(result),
    durationMs,
    artifacts,
  );
  return { recorded, result, durationMs };
}

/**
 * Every object result carries `warnings` (the analyzer's own, if any, then the input check's)
 * and `warningCount`, and with a dataset the `inputCheck` facts (datasets/inputCheck.ts).
 */
function withWarnings(result: unknown, check: ReturnType<typeof checkInputs> | null): unknown {
  if (result === null || typeof result !== 'object' || Array.isArray(result)) return result;
  const warnings = [...warningsOf(result), ...(check?.warnings ?? [])];
  return { ...result, warnings, warningCount: warnings.length, ...(check ? { inputCheck: check.inputCheck } : {}) };
}

/** A result's `warnings` list (empty when it has none). */
export function warningsOf(result: unknown): string[] {
  const w = (result as { warnings?: unknown } | null)?.warnings;
  return Array.isArray(w) ? w.map(String) : [];
}

/** Another stored model, by id or sha256 (checkpoint series, interpolation between two models). */
export async function resolveStoredModel(store: Store, ref: string): Promise<LoadedModel> {
  const record = (await store.models.byId(ref)) ?? (/^[0-9a-f]{64}$/.test(ref) ? await store.models.bySha(ref) : undefined);
  if (!record) throw new AppError('NOT_FOUND', `no stored model with id or sha256 ${ref}`, { model: ref });
  return loadStoredModel(store, record.sha256);
}

/** Records a failed attempt (a no-op when the job already ended, e.g. by cancellation). */
export async function recordFailure(store: Store, job: JobPayload, err: unknown, signal: AbortSignal): Promise<AppError> {
  const error = signal.aborted ? abortError(signal) : jobError(err);
  await store.analyses.fail(job.analysisId, job.attempt, error.code, error.message);
  return error;
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortError(signal);
}

export function abortError(signal: AbortSignal): AppError {
  const reason = signal.reason;
  return reason instanceof AppError ? reason : new AppError('CANCELLED', 'the analysis was cancelled');
}
