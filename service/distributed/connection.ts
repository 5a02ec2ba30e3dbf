/**
 * What the server and the `onnxscope worker` processes agree on: the Redis connection from a
 * redis:// URL, the BullMQ queue names, the Redis keys of the worker registry, job options.
 */
import type { RedisOptions } from 'bullmq';
import { AppError } from '../../common/errors.js';
import type { JobPayload } from '../jobs/payload.js';

/** One BullMQ job per analysis (job id = analysis id). */
export const ANALYSIS_QUEUE = 'onnxscope-analysis';
/** Parents of zoo-run flows: a parent completes when all of its analysis children have. */
export const ZOO_QUEUE = 'onnxscope-zoo';
/** Hash: worker id -> WorkerHeartbeat JSON. */
export const WORKERS_KEY = 'onnxscope:workers';
/** Custom event on the analysis queue's event stream: stop this analysis wherever it runs. */
export const CANCEL_EVENT = 'onnxscope-cancel';

/** What a BullMQ job carries: the self-contained payload; the attempt is the server's to count. */
export type RemoteJobData = Omit<JobPayload, 'attempt'>;

/** Progress a worker reports through BullMQ (job.updateProgress). */
export interface RemoteProgress {
  attempt: number;
  progress: number;
  message: string | null;
}

/** How a worker tells its sandboxed children (processor.ts) where the server is (an environment variable). */
export const PROCESSOR_SETUP_ENV = 'ONNXSCOPE_REMOTE_WORKER_SETUP';

export interface ProcessorSetup {
  serverUrl: string;
  token: string;
  cacheDir: string;
  analyzerModules: string[];
  jobTimeoutMs: number;
  progressIntervalMs: number;
  logLevel: string;
}

export function redisOptions(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AppError('BAD_PARAMS', `queue URL "${url}" is not a URL (expected redis://HOST:PORT)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new AppError('BAD_PARAMS', `queue URL "${url}" must start with redis:// or rediss://`);
  }
  const db = u.pathname.replace(/^\//, '');
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // BullMQ's blocking connections need commands to wait for a reconnect, never to give up.
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(100 * times, 1000),
  };
}

/**
 * Job options of an analysis: `attempts` starts in all (a sandboxed child that crashes is one
 * failed attempt; BullMQ retries it with backoff). A worker that disappears is BullMQ's stalled
 * job, retried once (the workers' maxStalledCount). Completed jobs leave Redis (the result is in
 * the server's database); failed ones stay a day for their reason.
 */
export function analysisJobOptions(analysisId: string, attempts: number) {
  return {
    jobId: analysisId,
    attempts,
    backoff: { type: 'exponential' as const, delay: 500 },
    removeOnComplete: true,
    removeOnFail: { age: 24 * 3600 },
  };
}
