/**
 * The service assembled: the local services (store, analyzers, queue, domain services) plus the
 * worker pool that runs the queue, for one data dir. `serve` wraps it in HTTP; tests create it
 * directly.
 */
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { WorkerPool } from './worker/pool.js';
import { openLocalServices, type LocalServices } from './local.js';

export interface App extends LocalServices {
  config: Config;
  log: Logger;
  pool: WorkerPool;
  /** Stops the pool (running jobs get graceMs, then go back to the queue) and closes the store. */
  close(graceMs?: number): Promise<void>;
}

const GC_INTERVAL_MS = 10 * 60_000;

export async function createApp(config: Config, log: Logger): Promise<App> {
  // The pool is created after the services; cancellations reach it through this late binding.
  let pool: WorkerPool | undefined;
  const services = await openLocalServices(config, { cancel: (id) => pool?.cancel(id) });
  const { store, queue, events } = services;
  const requeued = await store.analyses.requeueAllRunning();
  if (requeued > 0) log.warn({ requeued }, 'jobs left running by a previous process were put back in the queue');
  const collectGarbage = async () => {
    const removed = await store.collectGarbage();
    if (removed.length > 0) log.info({ removed: removed.length }, 'removed blobs that no row refers to');
  };
  await collectGarbage();
  // Blobs orphaned by a crash younger than gc's minimum age go on a later pass.
  const gcTimer = setInterval(() => void collectGarbage().catch((err: Error) => log.error({ err: err.message }, 'blob gc failed')), GC_INTERVAL_MS);
  gcTimer.unref();
  pool = new WorkerPool({
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
  const running = pool;
  return {
    ...services,
    config,
    log,
    pool: running,
    async close(graceMs = config.shutdownGraceMs) {
      clearInterval(gcTimer);
      await running.stop(graceMs);
      await services.close();
    },
  };
}
