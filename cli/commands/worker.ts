/**
 * `onnxscope worker --queue redis://HOST:PORT --server http://HOST:PORT --token T --cache-dir D`:
 * takes analysis jobs from a server's BullMQ queue (service/distributed/remoteWorker.ts) until
 * SIGTERM/SIGINT, then drains (running jobs get ONNXSCOPE_SHUTDOWN_GRACE_MS to finish).
 */
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { AppError } from '../../common/errors.js';
import { loadConfig } from '../../service/config.js';
import { createLogger } from '../../service/logger.js';
import { startRemoteWorker } from '../../service/distributed/remoteWorker.js';
import { action } from '../exit.js';

interface WorkerCliOptions {
  queue?: string;
  server?: string;
  token?: string;
  cacheDir?: string;
  concurrency: string;
  lockMs: string;
}

const positiveInt = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
  return value;
};

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('Take analysis jobs from a server\'s BullMQ queue (the server runs with ONNXSCOPE_QUEUE / --queue).')
    .option('--queue <url>', 'redis://HOST:PORT of the queue (env ONNXSCOPE_QUEUE)')
    .option('--server <url>', 'the server, http://HOST:PORT (env ONNXSCOPE_SERVER)')
    .option('--token <token>', 'a server token with the worker scope (env ONNXSCOPE_WORKER_TOKEN)')
    .option('--cache-dir <dir>', 'where fetched models and datasets are cached (env ONNXSCOPE_CACHE_DIR, default ~/.cache/onnxscope-worker)')
    .option('--concurrency <n>', 'jobs at once, each in its own child process (env ONNXSCOPE_WORKER_CONCURRENCY)', positiveInt('--concurrency'), process.env.ONNXSCOPE_WORKER_CONCURRENCY ?? '1')
    .option('--lock-ms <ms>', 'job lock: a worker silent this long is presumed gone (env ONNXSCOPE_WORKER_LOCK_MS)', positiveInt('--lock-ms'), process.env.ONNXSCOPE_WORKER_LOCK_MS ?? '30000')
    .action(action((opts: WorkerCliOptions) => runWorker(opts)));
}

async function runWorker(opts: WorkerCliOptions): Promise<void> {
  const env = process.env;
  const queueUrl = opts.queue ?? env.ONNXSCOPE_QUEUE;
  const serverUrl = opts.server ?? env.ONNXSCOPE_SERVER;
  const token = opts.token ?? env.ONNXSCOPE_WORKER_TOKEN;
  if (!queueUrl) throw new AppError('BAD_PARAMS', 'worker needs --queue redis://HOST:PORT (or ONNXSCOPE_QUEUE)');
  if (!serverUrl) throw new AppError('BAD_PARAMS', 'worker needs --server http://HOST:PORT (or ONNXSCOPE_SERVER)');
  if (!token) throw new AppError('BAD_PARAMS', 'worker needs --token with the worker scope (or ONNXSCOPE_WORKER_TOKEN)');
  const config = loadConfig();
  const log = createLogger(config.logLevel, 2).child({ role: 'worker' });
  const worker = await startRemoteWorker(
    {
      queueUrl,
      serverUrl,
      token,
      cacheDir: path.resolve(opts.cacheDir ?? env.ONNXSCOPE_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'onnxscope-worker')),
      concurrency: Number(opts.concurrency),
      lockMs: Number(opts.lockMs),
      analyzerModules: config.analyzerModules,
      jobTimeoutMs: config.jobTimeoutMs,
      progressIntervalMs: config.progressIntervalMs,
      logLevel: config.logLevel,
    },
    log,
  );
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    worker.stop(config.shutdownGraceMs).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err: (err as Error).message }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
