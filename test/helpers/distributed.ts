/**
 * Real parts for the distributed-queue tests and bench: Debian's redis-server on a free loopback
 * port with its own temp dir (append-only file, so a stop and restart loses nothing), and
 * `onnxscope worker` processes (the built CLI) with their own cache dirs, as if on other machines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI, cliEnv } from './cli.js';

export const REDIS_SERVER = '/usr/bin/redis-server';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.write('PING\r\n');
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
    });
    s.once('error', () => resolve(false));
  });
}

export interface TestRedis {
  url: string;
  port: number;
  dir: string;
  /** Stops it (SIGTERM: the append-only file is flushed); start() brings it back with the same data. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startRedis(): Promise<TestRedis> {
  if (!existsSync(REDIS_SERVER)) {
    throw new Error(`${REDIS_SERVER} is missing: install Debian's redis-server (apt-get install redis-server; .ci/run does)`);
  }
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-redis-'));
  let proc: ChildProcess | null = null;
  const redis: TestRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    async start() {
      proc = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--protected-mode', 'no'], { stdio: 'ignore' });
      const deadline = Date.now() + 15_000;
      while (!(await answers(port))) {
        if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port}`);
        await sleep(50);
      }
    },
    async stop() {
      const p = proc;
      proc = null;
      if (!p || p.exitCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await exited;
    },
  };
  await redis.start();
  return redis;
}

export interface TestWorker {
  proc: ChildProcess;
  cacheDir: string;
  /** Everything it wrote (logs at info level) so far. */
  output(): string;
  exited: Promise<number | null>;
  /** SIGTERM (drain) and wait; SIGKILL after timeoutMs. */
  stop(timeoutMs?: number): Promise<void>;
}

export function startWorker(opts: { queueUrl: string; serverUrl: string; token: string; lockMs?: number; env?: Record<string, string> }): TestWorker {
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-worker-'));
  const proc = spawn(
    process.execPath,
    [CLI, 'worker', '--queue', opts.queueUrl, '--server', opts.serverUrl, '--token', opts.token, '--cache-dir', cacheDir, '--lock-ms', String(opts.lockMs ?? 3000)],
    { env: cliEnv({ ONNXSCOPE_LOG_LEVEL: 'info', ONNXSCOPE_SHUTDOWN_GRACE_MS: '20000', ...opts.env }), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    cacheDir,
    output: () => out,
    exited,
    async stop(timeoutMs = 30_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
