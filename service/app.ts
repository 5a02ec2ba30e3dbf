/**
 * The service assembled: the local services (store, analyzers, queue, domain services) plus what
 * runs the queue, for one data dir: the local worker pool (embedded default), or with
 * config.queueUrl BullMQ on Redis and `onnxscope worker` processes elsewhere. `serve` wraps it
 * in HTTP; tests create it directly.
 */
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { WorkerPool } from './worker/pool.js';
import { openLocalServices, type LocalServices } from './local.js';
import type { JobRunners } from './jobs/queue.js';
import { remoteQueueing, type RemoteRunners } from './distributed/remoteApp.js';
import { ZooService } from './zooService.js';

export interface App extends LocalServices {
  config: Config;
  log: Logger;
  /** The local worker pool, or (config.queueUrl) the remote workers behind BullMQ. */
  pool: JobRunners;
  /** The remote workers (BullMQ mode only): registry, queue depth. */
  remote: RemoteRunners | null;
  /** Zoos, their runs driven through the queue by a poller (zooDriver.ts). */
  zoos: ZooService;
  /** Stops the zoo poller and the pool (running jobs get graceMs, then go back to the queue) and closes the store. */
  close(graceMs?: number): Promise<void>;
}

const GC_INTERVAL_MS = 10 * 60_000;

export async function createApp(config: Config, log: Logger): Promise<App> {
  // The pool is created after the services; cancellations reach it through this late binding.
  let pool: JobRunners | undefined;
  const remote = config.queueUrl ? remoteQueueing(config.queueUrl, config.jobAttempts, log) : null;
  const services = await openLocalServices(config, { cancel: (id) => pool?.cancel(id) }, remote?.makeQueue);
  const { store, queue, events } = services;
  if (!remote) {
    // With remote workers, RUNNING jobs may well still run; the reconciler sorts them out.
    const requeued = await store.analyses.requeueAllRunning();
    if (requeued > 0) log.warn({ requeued }, 'jobs left running by a previous process were put back in the queue');
  }
  const collectGarbage = async () => {
    const removed = await store.collectGarbage();
    if (removed.length > 0) log.info({ removed: removed.length }, 'removed blobs that no row refers to');
  };
  await collectGarbage();
  // Blobs orphaned by a crash younger than gc's minimum age go on a later pass.
  const gcTimer = setInterval(() => void collectGarbage().catch((err: Error) => log.error({ err: err.message }, 'blob gc failed')), GC_INTERVAL_MS);
  gcTimer.unref();
  let runners: RemoteRunners | null = null;
  if (remote) {
    runners = remote.runners(services);
    pool = runners;
  } else {
    const local = new WorkerPool({
      size: config.workers,
      setup: {
        dataDir: config.dataDir,
        analyzerModules: config.analyzerModules,
        progressIntervalMs: config.progressIntervalMs,
        logLevel: config.logLevel,
        maxRssMb: config.workerMaxRssMb,
        nice: config.workerNice,
      },
      jobTimeoutMs: config.jobTimeoutMs,
      jobAttempts: config.jobAttempts,
      maxHeapMb: config.workerMaxHeapMb,
      maxRssMb: config.workerMaxRssMb,
      store,
      queue,
      events,
      log: log.child({ role: 'pool' }),
    });
    local.start();
    pool = local;
  }
  const running = pool;
  const zoos = new ZooService(store, services.models, services.analyses, { kind: 'queue' });
  return {
    ...services,
    config,
    log,
    pool: running,
    remote: runners,
    zoos,
    async close(graceMs = config.shutdownGraceMs) {
      clearInterval(gcTimer);
      zoos.close();
      await running.stop(graceMs);
      await services.close();
    },
  };
}
