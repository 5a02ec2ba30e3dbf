/**
 * The real server as a user runs it: `node dist/cli/main.js serve` in a child process on
 * loopback with its own data dir, so a suite can kill -9 it, watch it crash, and restart it on
 * the same directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { makeClient, type Client } from './client.js';

export const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
export const SLOW_ANALYZER_MODULE = fileURLToPath(new URL('../helpers/serviceSlowAnalyzer.js', import.meta.url));

export interface ServerProcess {
  url: string;
  port: number;
  proc: ChildProcess;
  client: Client;
  /** Resolves with the exit code or signal when the process ends. */
  exited: Promise<string>;
  /** True once the process has ended (crash or stop). */
  dead(): boolean;
  /** The last lines the process wrote to stderr and stdout (why it died). */
  outputTail(): string;
  kill9(): Promise<string>;
  /** SIGTERM and wait. */
  stop(): Promise<string>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ServerOptions {
  dataDir: string;
  /** Extra ONNXSCOPE_* variables (tokens, limits). */
  env?: Record<string, string>;
  workers?: number;
  token?: string;
  port?: number;
}

export async function startServerProcess(opts: ServerOptions): Promise<ServerProcess> {
  const port = opts.port ?? (await freePort());
  const proc = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--data-dir', opts.dataDir], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ONNXSCOPE_WORKERS: String(opts.workers ?? 1),
      ONNXSCOPE_ANALYZER_MODULES: SLOW_ANALYZER_MODULE,
      ONNXSCOPE_LOG_LEVEL: 'warn',
      ONNXSCOPE_SHUTDOWN_GRACE_MS: '0',
      ONNXSCOPE_PROGRESS_INTERVAL_MS: '100',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-8000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  let ended = false;
  const exited = new Promise<string>((resolve) => {
    proc.once('exit', (code, signal) => {
      ended = true;
      resolve(signal ?? String(code));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const client = makeClient(url, opts.token);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (ended) throw new Error(`onnxscope serve exited at start: ${tail}`);
    try {
      const r = await client.raw('/healthz', { timeoutMs: 2000 });
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`onnxscope serve did not answer /healthz in 60 s: ${tail}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port,
    proc,
    client,
    exited,
    dead: () => ended,
    outputTail: () => tail,
    kill9: () => {
      if (!ended) proc.kill('SIGKILL');
      return exited;
    },
    stop: async () => {
      if (!ended) proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  };
}
