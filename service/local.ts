/**
 * The services over one data dir, without a worker pool or HTTP: what the CLI uses to run an
 * analysis in-process against the same store and results cache as the server, and what the
 * server (service/app.ts) builds its pool around.
 */
import { openStore, type Store } from '../storage/store.js';
import type { Config } from './config.js';
import { AnalyzerCatalog } from './analyzerCatalog.js';
import { AnalysisEvents } from './events.js';
import { SqliteJobQueue } from './jobs/sqliteQueue.js';
import type { JobQueue } from './jobs/queue.js';
import { ModelService } from './modelService.js';
import { DatasetService } from './datasetService.js';
import { AnalysisService, type ImmediateOutcome, type JobCanceller, type RunAnalysisRequest } from './analysisService.js';
import { jobLimitsOf, type ProgressFn } from './jobs/execute.js';
import { AppError } from '../common/errors.js';

export interface LocalServices {
  store: Store;
  catalog: AnalyzerCatalog;
  queue: JobQueue;
  events: AnalysisEvents;
  models: ModelService;
  datasets: DatasetService;
  analyses: AnalysisService;
  close(): Promise<void>;
}

export async function openLocalServices(
  config: Config,
  canceller?: JobCanceller,
  makeQueue: (store: Store) => JobQueue = (store) => new SqliteJobQueue(store),
): Promise<LocalServices> {
  const store = await openStore(config.dataDir);
  const catalog = await AnalyzerCatalog.load(config.analyzerModules);
  const queue = makeQueue(store);
  const events = new AnalysisEvents();
  return {
    store,
    catalog,
    queue,
    events,
    models: new ModelService(store, config.maxUploadBytes),
    datasets: new DatasetService(store, config.maxUploadBytes),
    analyses: new AnalysisService(store, catalog, queue, events, canceller, {
      maxQueuedJobs: config.maxQueuedJobs,
      limits: jobLimitsOf(config),
    }),
    close: () => store.close(),
  };
}

/**
 * Runs one analysis in this process (cache first), as the CLI does: cancelled by the job time
 * budget like a worker's job would be, and by `outer` (a caller's Ctrl-C or deadline) or, when
 * there is none, by Ctrl-C.
 */
export async function runLocally(
  services: LocalServices,
  req: RunAnalysisRequest,
  progress: ProgressFn,
  timeoutMs: number,
  outer?: AbortSignal,
): Promise<ImmediateOutcome> {
  const controller = new AbortController();
  const interrupt = () => controller.abort(new AppError('CANCELLED', 'interrupted'));
  const forward = () => controller.abort(outer!.reason);
  if (outer) {
    if (outer.aborted) forward();
    outer.addEventListener('abort', forward, { once: true });
  } else process.once('SIGINT', interrupt);
  const budget = setTimeout(() => controller.abort(new AppError('TIMEOUT', `the analysis exceeded its time budget of ${timeoutMs} ms`)), timeoutMs);
  try {
    return await services.analyses.runNow(req, progress, controller.signal);
  } finally {
    clearTimeout(budget);
    if (outer) outer.removeEventListener('abort', forward);
    else process.off('SIGINT', interrupt);
  }
}
