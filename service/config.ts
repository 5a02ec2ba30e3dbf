/**
 * Service configuration: defaults, overridden by ONNXSCOPE_* environment variables, overridden
 * by explicit options (CLI flags, tests). Parsed once at start-up; the rest of the code gets a
 * plain Config value.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../common/errors.js';

/** read/write: API callers; worker: `onnxscope worker` processes (blobs, job results), nothing else. */
export type Scope = 'read' | 'write' | 'worker';
const SCOPES: readonly Scope[] = ['read', 'write', 'worker'];

export interface Config {
  dataDir: string;
  port: number;
  /** Interface to bind. Loopback when no tokens are configured (see resolveHost). */
  host: string;
  /** token -> scopes; null when no tokens are configured (no authentication, loopback only). */
  tokens: Map<string, Set<Scope>> | null;
  /** Largest accepted upload (models and datasets), bytes. */
  maxUploadBytes: number;
  maxQueryDepth: number;
  /** Query cost limits beside the depth (service/http/queryCost.ts): fields selected in all, aliases, items in one list. */
  maxQueryFields: number;
  maxQueryAliases: number;
  maxListItems: number;
  /** Worker processes running analyses. */
  workers: number;
  /** V8 heap cap of every process that runs an analysis (pool workers, the CLI's child), MB (RESOURCE_LIMIT when reached). */
  workerMaxHeapMb: number;
  /** Resident memory cap of a pool worker, MB: the pool kills a worker past it (RESOURCE_LIMIT); also the largest single tensor a model may declare. */
  workerMaxRssMb: number;
  /** Scheduling niceness of worker processes (0-19): analyses yield the CPU to the API process, so reads stay fast while models run. */
  workerNice: number;
  /** Jobs waiting in the queue at most (QUEUE_FULL past it); 0 = no limit. */
  maxQueuedJobs: number;
  /** Time budget of one job attempt, ms (TIMEOUT when exceeded). */
  jobTimeoutMs: number;
  /** How many times a job is started before a crashed worker fails it (2 = retried once). */
  jobAttempts: number;
  /** On SIGTERM, how long running jobs may take to finish before they are put back in the queue. */
  shutdownGraceMs: number;
  /** Minimum interval between progress reports a worker sends. */
  progressIntervalMs: number;
  /** Extra analyzer modules (each default-exports an Analyzer), loaded by the server and the workers. */
  analyzerModules: string[];
  logLevel: string;
  /**
   * redis://HOST:PORT of a BullMQ queue shared with `onnxscope worker` processes, or null: the
   * embedded SQLite queue and local worker pool (the default; no Redis is touched).
   */
  queueUrl: string | null;
}

export type Env = Record<string, string | undefined>;

const int = (env: Env, key: string, fallback: number, min = 0): number => {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new AppError('BAD_PARAMS', `${key} must be an integer >= ${min}, got "${raw}"`);
  return n;
};

// Linux niceness runs 0 (normal) to 19 (lowest); a worker never asks for more priority than the server.
const niceness = (n: number): number => {
  if (n > 19) throw new AppError('BAD_PARAMS', `ONNXSCOPE_WORKER_NICE must be 0-19, got ${n}`);
  return n;
};

/** "tok1:read,write;tok2:read" (also one entry per line, as in a tokens file). */
export function parseTokens(spec: string): Map<string, Set<Scope>> {
  const tokens = new Map<string, Set<Scope>>();
  for (const entry of spec.split(/[;\n]/).map((s) => s.trim()).filter((s) => s && !s.startsWith('#'))) {
    const colon = entry.lastIndexOf(':');
    const token = colon < 0 ? entry : entry.slice(0, colon).trim();
    const scopes = colon < 0 ? ['read'] : entry.slice(colon + 1).split(',').map((s) => s.trim()).filter(Boolean);
    if (!token) throw new AppError('BAD_PARAMS', `token entry "${entry}" has no token`);
    for (const s of scopes) {
      if (!SCOPES.includes(s as Scope)) throw new AppError('BAD_PARAMS', `token scope "${s}" is not one of ${SCOPES.join(', ')}`);
    }
    tokens.set(token, new Set(scopes as Scope[]));
  }
  return tokens;
}

export function loadConfig(overrides: Partial<Config> = {}, env: Env = process.env): Config {
  let tokens: Config['tokens'] = null;
  if (env.ONNXSCOPE_TOKENS_FILE) tokens = parseTokens(readFileSync(env.ONNXSCOPE_TOKENS_FILE, 'utf8'));
  if (env.ONNXSCOPE_TOKENS) tokens = new Map([...(tokens ?? []), ...parseTokens(env.ONNXSCOPE_TOKENS)]);
  if (tokens && tokens.size === 0) tokens = null;
  const merged: Omit<Config, 'host'> & { host?: string } = {
    dataDir: path.resolve(env.ONNXSCOPE_DATA_DIR || '.onnxscope'),
    port: int(env, 'ONNXSCOPE_PORT', 4000),
    host: env.ONNXSCOPE_HOST || undefined,
    tokens,
    maxUploadBytes: int(env, 'ONNXSCOPE_MAX_UPLOAD_BYTES', 256 * 1024 * 1024, 1),
    maxQueryDepth: int(env, 'ONNXSCOPE_MAX_QUERY_DEPTH', 8, 1),
    maxQueryFields: int(env, 'ONNXSCOPE_MAX_QUERY_FIELDS', 500, 1),
    maxQueryAliases: int(env, 'ONNXSCOPE_MAX_QUERY_ALIASES', 30, 0),
    maxListItems: int(env, 'ONNXSCOPE_MAX_LIST_ITEMS', 10_000, 1),
    workers: int(env, 'ONNXSCOPE_WORKERS', Math.max(1, Math.min(4, os.availableParallelism() - 1)), 1),
    workerMaxHeapMb: int(env, 'ONNXSCOPE_WORKER_MAX_HEAP_MB', int(env, 'ONNXSCOPE_ANALYSIS_HEAP_MB', defaultHeapMb(), 8), 8),
    workerMaxRssMb: int(env, 'ONNXSCOPE_WORKER_MAX_RSS_MB', defaultRssMb(), 32),
    workerNice: niceness(int(env, 'ONNXSCOPE_WORKER_NICE', 10, 0)),
    maxQueuedJobs: int(env, 'ONNXSCOPE_MAX_QUEUED_JOBS', 1000),
    jobTimeoutMs: int(env, 'ONNXSCOPE_JOB_TIMEOUT_MS', 60 * 60 * 1000, 1),
    jobAttempts: int(env, 'ONNXSCOPE_JOB_ATTEMPTS', 2, 1),
    shutdownGraceMs: int(env, 'ONNXSCOPE_SHUTDOWN_GRACE_MS', 30_000),
    progressIntervalMs: int(env, 'ONNXSCOPE_PROGRESS_INTERVAL_MS', 250),
    analyzerModules: (env.ONNXSCOPE_ANALYZER_MODULES ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    logLevel: env.ONNXSCOPE_LOG_LEVEL || 'info',
    queueUrl: env.ONNXSCOPE_QUEUE || null,
    ...stripUndefined(overrides),
  };
  if (overrides.dataDir) merged.dataDir = path.resolve(overrides.dataDir);
  return { ...merged, host: resolveHost(merged.host, merged.tokens) };
}

const TOTAL_MB = Math.floor(os.totalmem() / (1024 * 1024));

/**
 * V8's own default for a 64-bit process is about 4 GB (2 GB on small machines); a quarter of the
 * machine's memory, within 512 MB .. 4 GB, keeps a few workers from taking it all between them.
 */
function defaultHeapMb(): number {
  return Math.max(512, Math.min(4096, Math.floor(TOTAL_MB / 4)));
}

/**
 * Half the machine's memory: onnxruntime's tensors live outside the V8 heap, so the resident
 * size is the real bound; past half the machine, one runaway analysis starves everything else.
 */
function defaultRssMb(): number {
  return Math.max(1024, Math.floor(TOTAL_MB / 2));
}

/** Without tokens anyone who can connect may write, so only local clients may connect. */
function resolveHost(requested: string | undefined, tokens: Config['tokens']): string {
  if (!tokens) return '127.0.0.1';
  return requested ?? '0.0.0.0';
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
