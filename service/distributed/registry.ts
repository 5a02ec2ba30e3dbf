/**
 * The worker registry in Redis: each `onnxscope worker` writes its heartbeat (host, runtime,
 * current jobs) into one hash every few seconds and removes it when it drains; the server reads
 * the hash for the `workers` query, /readyz and /metrics. A worker whose heartbeat is older than
 * STALE_AFTER_MS counts as gone (killed, machine lost) and is dropped from the hash.
 */
import type { Redis } from 'ioredis';
import type { RuntimeInfo } from '../../native/runtime/session.js';
import { WORKERS_KEY } from './connection.js';

export const HEARTBEAT_MS = 2000;
export const STALE_AFTER_MS = 5 * HEARTBEAT_MS;

export interface WorkerJob {
  analysisId: string;
  analyzer: string;
  startedAt: string;
}

export interface WorkerHeartbeat {
  id: string;
  host: string;
  pid: number;
  runtime: RuntimeInfo;
  concurrency: number;
  currentJobs: WorkerJob[];
  startedAt: string;
  lastHeartbeat: string;
}

export async function writeHeartbeat(redis: Redis, beat: WorkerHeartbeat): Promise<void> {
  await redis.hset(WORKERS_KEY, beat.id, JSON.stringify(beat));
}

export async function removeHeartbeat(redis: Redis, id: string): Promise<void> {
  await redis.hdel(WORKERS_KEY, id);
}

/** Live workers, oldest first; stale entries are removed from the hash. */
export async function liveWorkers(redis: Redis, now = Date.now()): Promise<WorkerHeartbeat[]> {
  const all = Object.values(await redis.hgetall(WORKERS_KEY)).map((v) => JSON.parse(v) as WorkerHeartbeat);
  const stale = all.filter((w) => now - Date.parse(w.lastHeartbeat) > STALE_AFTER_MS);
  if (stale.length > 0) await redis.hdel(WORKERS_KEY, ...stale.map((w) => w.id));
  return all.filter((w) => !stale.includes(w)).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}
