/**
 * The service assembled: store, analyzers, queue, worker pool and the domain services, for one
 * data dir. `serve` wraps it in HTTP; tests create it directly.
 */
import type { Logger } from 'pino';
import { openStore, type Store } from '../storage/store.js';
import type { Config } from './config.js';
import { AnalyzerCatalog } from './analyzerCatalog.js';
import { AnalysisEvents } from './events.js';
import { SqliteJobQueue } from './jobs/sqliteQueue.js';
import { WorkerPool } from './worker/pool.js';
import { ModelService } from './modelService.js';
import { DatasetService } from './datasetService.js';
import { AnalysisService } from './analysisService.js';

export interface App {
  config: Config;
  log: Logger;
  store: Store;
  catalog: AnalyzerCatalog;
  events: AnalysisEvents;
  pool: WorkerPool;
  models: ModelService;
  datasets: DatasetService;
  analyses: AnalysisService;
  /** Stops the pool (running jobs get config.shutdownGraceMs, then go back to the queue) and closes the store. */
  close(graceMs?: number): Promise<void>;
}

export async function createApp(config: Config, log: Logger): Promise<App> {
  const store = await openStore(config.dataDir);
  const requeued = await store.analyses.requeueAllRunning();
  if (requeued > 0) log.warn({ requeued }, 'jobs left running by a previous process were put back in the queue');
  const removed = await store.collectGarbage();
  if (removed.length > 0) log.info({ removed: removed.length }, 'removed blobs that no row refers to');
  const catalog = await AnalyzerCatalog.load(config.analyzerModules);
  const events = new AnalysisEvents();
  const queue = new SqliteJobQueue(store);
  const pool = new WorkerPool({
    size: config.workers,
    setup: {
      dataDir: config.dataDir,
      analyzerModules: config.analyzerModules,
      progressIntervalMs: config.progressIntervalMs,
      logLevel: config.logLevel,
    },
    jobTimeoutMs: config.jobTimeoutMs,
    jobAttempts: config.jobAttempts,
    store,
    queue,
    events,
    log: log.child({ role: 'pool' }),
  });
  pool.start();
  return {
    config,
    log,
    store,
    catalog,
    events,
    pool,
    models: new ModelService(store, config.maxUploadBytes),
    datasets: new DatasetService(store, config.maxUploadBytes),
    analyses: new AnalysisService(store, catalog, queue, events, pool),
    async close(graceMs = config.shutdownGraceMs) {
      await pool.stop(graceMs);
      await store.close();
    },
  };
}
