/**
 * The BullMQ sandboxed processor: each `onnxscope worker` runs its jobs in child processes that
 * load this file, so a native crash or heap exhaustion kills only the child (BullMQ fails that
 * attempt and retries it) and the worker's event loop, which renews the job locks, never waits
 * on ONNX Runtime. One job: ask the server for the attempt number, fetch the model and dataset
 * by sha256 (cached on disk), run the analyzer (computeJob, as the embedded workers do), post
 * the result or the failure. An analysis error is an outcome, posted and done; only a failure to
 * reach the server (after retries) fails the BullMQ attempt.
 */
import type { SandboxedJob } from 'bullmq';
import { AppError } from '../../common/errors.js';
import { AnalyzerCatalog } from '../analyzerCatalog.js';
import { createLogger } from '../logger.js';
import { jobError } from '../jobs/resourceGuard.js';
import { abortError, computeJob, type ComputedJob, type JobSources } from '../jobs/execute.js';
import { throttledProgress } from '../jobs/progress.js';
import { loadStoredModel } from '../modelService.js';
import { setRuntimeLogger } from '../../native/runtime/session.js';
import { ArtifactCollector, BlobCache } from './blobCache.js';
import { ServerClient } from './serverClient.js';
import { PROCESSOR_SETUP_ENV, type ProcessorSetup, type RemoteJobData, type RemoteProgress } from './connection.js';

export interface ProcessorOutcome {
  analysisId: string;
  attempt: number | null;
  /** Whether the server filed this run's result or failure (false: stale attempt, or skipped). */
  recorded: boolean;
  code: string | null;
}

const setup = JSON.parse(process.env[PROCESSOR_SETUP_ENV] ?? '{}') as ProcessorSetup;
const log = createLogger(setup.logLevel ?? 'info', 2).child({ role: 'worker-child' });
setRuntimeLogger((line) => log.info(line));
// The worker process is gone (kill -9, crash): its jobs go to other workers; stop computing.
process.on('disconnect', () => process.exit(0));

const server = new ServerClient(setup.serverUrl, setup.token);
const cache = new BlobCache(setup.cacheDir, server);
const ready = Promise.all([cache.init(), AnalyzerCatalog.load(setup.analyzerModules ?? [])]);

export default async function processAnalysis(job: SandboxedJob<RemoteJobData>, _token?: string, signal?: AbortSignal): Promise<ProcessorOutcome> {
  const [, catalog] = await ready;
  const id = job.data.analysisId;
  const attempt = await server.start(id);
  if (attempt === null) return { analysisId: id, attempt, recorded: false, code: 'CANCELLED' };
  const controller = new AbortController();
  const cancel = () => controller.abort(new AppError('CANCELLED', 'cancelled by request'));
  if (signal?.aborted) cancel();
  signal?.addEventListener('abort', cancel, { once: true });
  const budget = setTimeout(
    () => controller.abort(new AppError('TIMEOUT', `the analysis exceeded its time budget of ${setup.jobTimeoutMs} ms`)),
    setup.jobTimeoutMs,
  );
  const progress = throttledProgress(setup.progressIntervalMs, (p, message) => {
    const report: RemoteProgress = { attempt, progress: p, message };
    job.updateProgress(report as unknown as Record<string, unknown>).catch(() => undefined);
  });
  const artifacts = new ArtifactCollector();
  const sources: JobSources = {
    blobs: { get: (sha) => cache.get(sha), put: (bytes) => artifacts.put(bytes) },
    datasets: { bySha: (sha) => server.dataset(sha) },
    resolveModel: async (ref) => loadStoredModel({ blobs: cache }, await server.modelSha(ref)),
  };
  let computed: ComputedJob;
  try {
    computed = await computeJob(sources, catalog, { ...job.data, attempt }, progress, controller.signal);
  } catch (err) {
    const error = controller.signal.aborted ? abortError(controller.signal) : jobError(err);
    const recorded = await server.failure(id, attempt, error.code, error.message);
    log.warn({ analysisId: id, attempt, code: error.code, err: error.message }, 'job failed');
    return { analysisId: id, attempt, recorded, code: error.code };
  } finally {
    clearTimeout(budget);
    signal?.removeEventListener('abort', cancel);
  }
  const recorded = await server.result(id, {
    attempt,
    result: computed.result,
    durationMs: computed.durationMs,
    artifacts: computed.artifacts.map((a) => ({ name: a.name, mimeType: a.mimeType, base64: Buffer.from(artifacts.bytes.get(a.sha256)!).toString('base64') })),
  });
  log.info({ analysisId: id, attempt, durationMs: computed.durationMs, recorded }, 'job finished');
  return { analysisId: id, attempt, recorded, code: null };
}
