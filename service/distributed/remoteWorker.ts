/**
 * `onnxscope worker`: a process on any machine that takes analysis jobs from the BullMQ queue.
 * It needs only the queue URL, the server URL and a worker token. Jobs run in BullMQ sandboxed
 * child processes (processor.ts); this process only renews their locks, relays cancellations
 * (a custom event on the queue's event stream) and writes its heartbeat to the registry.
 * stop() drains: no new jobs, running ones get graceMs to finish, then are left to BullMQ
 * (stalled: retried on another worker).
 */
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { probeRuntime } from '../worker/runtimeProbe.js';
import { ANALYSIS_QUEUE, CANCEL_EVENT, PROCESSOR_SETUP_ENV, redisOptions, type ProcessorSetup, type RemoteJobData } from './connection.js';
import { HEARTBEAT_MS, removeHeartbeat, writeHeartbeat, type WorkerHeartbeat, type WorkerJob } from './registry.js';
import { ServerClient } from './serverClient.js';

export interface RemoteWorkerOptions extends Omit<ProcessorSetup, 'serverUrl' | 'token'> {
  queueUrl: string;
  serverUrl: string;
  token: string;
  /** Jobs at once (each in its own child process). */
  concurrency: number;
  /** BullMQ lock duration: a worker silent for this long is presumed gone and its job retried elsewhere. */
  lockMs: number;
}

export interface RunningWorker {
  id: string;
  stop(graceMs: number): Promise<void>;
}

const PROCESSOR_FILE = fileURLToPath(new URL('./processor.js', import.meta.url));

export async function startRemoteWorker(opts: RemoteWorkerOptions, log: Logger): Promise<RunningWorker> {
  // A bad token is refused here, before any job is taken.
  await new ServerClient(opts.serverUrl, opts.token).hello();
  const connection = redisOptions(opts.queueUrl);
  const id = `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  // Which provider sessions get on this machine (ONNXSCOPE_EP, CUDA libraries present or not).
  const runtime = await probeRuntime();
  const setup: ProcessorSetup = {
    serverUrl: opts.serverUrl,
    token: opts.token,
    cacheDir: opts.cacheDir,
    analyzerModules: opts.analyzerModules,
    jobTimeoutMs: opts.jobTimeoutMs,
    progressIntervalMs: opts.progressIntervalMs,
    logLevel: opts.logLevel,
  };
  const worker = new Worker<RemoteJobData>(ANALYSIS_QUEUE, PROCESSOR_FILE, {
    connection,
    name: id,
    concurrency: opts.concurrency,
    lockDuration: opts.lockMs,
    stalledInterval: opts.lockMs,
    // A job whose worker disappears runs once more elsewhere, then fails.
    maxStalledCount: 1,
    useWorkerThreads: false,
    workerForkOptions: { env: { ...process.env, [PROCESSOR_SETUP_ENV]: JSON.stringify(setup) } },
  });
  const current = new Map<string, WorkerJob>();
  worker.on('active', (job) => {
    current.set(job.id!, { analysisId: job.id!, analyzer: job.data.analyzer, startedAt: new Date().toISOString() });
    log.info({ analysisId: job.id, analyzer: job.data.analyzer, attemptsMade: job.attemptsMade }, 'job started');
  });
  worker.on('completed', (job) => void current.delete(job.id!));
  worker.on('failed', (job, err) => {
    if (job) current.delete(job.id!);
    log.warn({ analysisId: job?.id, err: err.message }, 'job attempt failed');
  });
  worker.on('error', (err) => log.warn({ err: err.message }, 'queue connection'));

  const signals = new QueueEvents(ANALYSIS_QUEUE, { connection });
  signals.on('error', () => undefined);
  signals.on(CANCEL_EVENT as 'waiting', (args: unknown) => {
    const analysisId = (args as { analysisId?: string }).analysisId;
    if (analysisId && worker.cancelJob(analysisId, 'cancelled by request')) log.info({ analysisId }, 'job cancelled');
  });

  // Own connection without an offline queue: a heartbeat while Redis is down fails instead of piling up.
  const registry = new Redis({ ...connection, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  registry.on('error', () => undefined);
  const startedAt = new Date().toISOString();
  const beat = () => {
    const heartbeat: WorkerHeartbeat = {
      id, host: os.hostname(), pid: process.pid, runtime, concurrency: opts.concurrency,
      currentJobs: [...current.values()], startedAt, lastHeartbeat: new Date().toISOString(),
    };
    writeHeartbeat(registry, heartbeat).catch(() => undefined);
  };
  registry.once('ready', beat);
  const heartbeat = setInterval(beat, HEARTBEAT_MS);
  log.info({ id, queue: opts.queueUrl, server: opts.serverUrl, concurrency: opts.concurrency, runtime: runtime.providerInUse }, 'onnxscope worker taking jobs');

  return {
    id,
    async stop(graceMs) {
      log.info({ id, running: current.size }, 'draining: no new jobs');
      const drained = worker.close();
      const inTime = await Promise.race([drained.then(() => true), sleep(graceMs).then(() => false)]);
      if (!inTime) {
        log.warn({ running: [...current.keys()] }, 'jobs still running after the grace period; leaving them to other workers');
        await worker.close(true);
      }
      clearInterval(heartbeat);
      await signals.close().catch(() => undefined);
      await removeHeartbeat(registry, id).catch(() => undefined);
      registry.disconnect();
    },
  };
}
