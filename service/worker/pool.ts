/**
 * A pool of worker processes (child_process.fork of worker/main.js). The pool claims jobs from
 * the queue for idle workers, relays progress into the database, enforces each job's time
 * budget, and turns a worker that dies into a retry (once, by default) or a FAILED job; the
 * worker is replaced and the service carries on.
 *
 * Memory: each worker runs with a V8 heap cap (--max-old-space-size = maxHeapMb), and the pool
 * watches a busy worker's resident size (onnxruntime's tensors live outside the V8 heap) and
 * kills it past maxRssMb. A worker that died of either (V8's fatal "heap out of memory" report
 * on its stderr, a native std::bad_alloc, or our kill) fails its job with RESOURCE_LIMIT naming
 * the limit, and is not retried: the same job would only exhaust the next worker the same way.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { fork, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Store } from '../../storage/store.js';
import type { AnalysisEvents } from '../events.js';
import type { JobQueue, JobRunners } from '../jobs/queue.js';
import type { JobPayload } from '../jobs/payload.js';
import { runtimeInfo, type RuntimeInfo } from '../../native/runtime/session.js';
import { FatalReportWatcher, heapLimitArgv } from '../../common/fatalReport.js';
import { WORKER_SETUP_ENV, type FromWorker, type ToWorker, type WorkerSetup } from './protocol.js';

export interface PoolOptions {
  size: number;
  setup: WorkerSetup;
  jobTimeoutMs: number;
  /** Starts of one job before a worker death fails it (2 = one retry). */
  jobAttempts: number;
  /** How long an aborted job may take to stop before its worker is killed. */
  abortGraceMs?: number;
  /** V8 heap cap of each worker, MB (--max-old-space-size). */
  maxHeapMb: number;
  /** Resident size past which a busy worker is killed, MB. */
  maxRssMb: number;
  /** How often busy workers' resident size is read (default 250 ms). */
  rssCheckMs?: number;
  store: Store;
  queue: JobQueue;
  events: AnalysisEvents;
  log: Logger;
}

interface Slot {
  child: ChildProcess;
  ready: boolean;
  job: JobPayload | null;
  budgetTimer?: NodeJS.Timeout;
  killTimer?: NodeJS.Timeout;
  exited: Promise<void>;
  /** The worker's stderr, watched for V8's (or the C++ runtime's) out-of-memory report. */
  stderr: FatalReportWatcher;
  /** Set when the pool killed the worker for its memory: the job's RESOURCE_LIMIT message. */
  overLimit?: string;
}

const WORKER_ENTRY = fileURLToPath(new URL('./main.js', import.meta.url));

export class WorkerPool implements JobRunners {
  private readonly slots = new Set<Slot>();
  private stopping = false;
  private pumping = false;
  private pumpAgain = false;
  private unsubscribe?: () => void;
  private poller?: NodeJS.Timeout;
  private rssWatch?: NodeJS.Timeout;
  private nextRequestId = 1;
  private readonly runtimeRequests = new Map<number, (info: RuntimeInfo) => void>();
  private knownRuntime: RuntimeInfo | undefined;
  private firstReady!: () => void;
  /** Resolves once some worker has started (and can be asked about the runtime). */
  readonly whenReady = new Promise<void>((resolve) => (this.firstReady = resolve));

  constructor(private readonly opts: PoolOptions) {}

  start(): void {
    for (let i = 0; i < this.opts.size; i++) this.spawn();
    this.unsubscribe = this.opts.queue.onAvailable(() => void this.pump());
    // Jobs can also appear from elsewhere (another process on the same database).
    this.poller = setInterval(() => void this.pump(), 1000);
    this.poller.unref();
    this.rssWatch = setInterval(() => void this.checkResidentSizes(), this.opts.rssCheckMs ?? 250);
    this.rssWatch.unref();
  }

  /** Workers alive and ready to take or running a job. */
  stats() {
    const slots = [...this.slots];
    return {
      size: this.opts.size,
      ready: slots.filter((s) => s.ready).length,
      busy: slots.filter((s) => s.job).length,
    };
  }

  problems(): string[] {
    return this.stats().ready === 0 ? ['no worker process is ready'] : [];
  }

  /** The pid of the worker running an analysis (operators and tests use it to find a stuck job). */
  pidOf(analysisId: string): number | undefined {
    for (const s of this.slots) if (s.job?.analysisId === analysisId) return s.child.pid;
    return undefined;
  }

  /**
   * The runtime the workers use, asked of a worker (the provider is decided per process, at its
   * first session). Falls back to what this process knows (version, providers offered) when no
   * worker answers within timeoutMs.
   */
  async runtimeInfo(timeoutMs = 15_000): Promise<RuntimeInfo> {
    if (this.knownRuntime) return this.knownRuntime;
    const slots = [...this.slots].filter((s) => s.ready && s.child.connected);
    const slot = slots.find((s) => !s.job) ?? slots[0];
    if (!slot) return runtimeInfo();
    const requestId = this.nextRequestId++;
    const answer = new Promise<RuntimeInfo | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.runtimeRequests.delete(requestId);
        resolve(undefined);
      }, timeoutMs);
      this.runtimeRequests.set(requestId, (info) => {
        clearTimeout(timer);
        resolve(info);
      });
    });
    this.send(slot, { type: 'runtimeInfo', requestId });
    const info = await answer;
    if (info?.providerInUse) this.knownRuntime = info;
    return info ?? runtimeInfo();
  }

  cancel(analysisId: string): void {
    for (const s of this.slots) if (s.job?.analysisId === analysisId) this.abort(s, 'CANCELLED', 'cancelled by request');
  }

  /**
   * Stops taking jobs; running ones get graceMs to finish, then go back to the queue (their
   * workers are killed). Resolves when every worker has exited.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    clearInterval(this.poller);
    clearInterval(this.rssWatch);
    const deadline = Date.now() + graceMs;
    while ([...this.slots].some((s) => s.job) && Date.now() < deadline) await sleep(50);
    const exits = [...this.slots].map((s) => s.exited);
    for (const s of this.slots) {
      if (s.job) {
        const job = s.job;
        s.job = null;
        clearTimeout(s.budgetTimer);
        await this.opts.queue.release(job);
        this.opts.log.info({ analysisId: job.analysisId }, 'job put back in the queue at shutdown');
      }
      s.child.kill('SIGKILL');
    }
    await Promise.all(exits);
  }

  private spawn(): void {
    const child = fork(WORKER_ENTRY, [], {
      env: { ...process.env, [WORKER_SETUP_ENV]: JSON.stringify(this.opts.setup) },
      execArgv: heapLimitArgv(process.execArgv, this.opts.maxHeapMb),
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    let onExit!: () => void;
    const stderr = new FatalReportWatcher((text) => process.stderr.write(text));
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
    const slot: Slot = { child, ready: false, job: null, exited: new Promise((r) => (onExit = r)), stderr };
    this.slots.add(slot);
    // Handlers touch the database; a failure there is logged, never an unhandled rejection that would take the service down.
    child.on('message', (m: FromWorker) => this.onMessage(slot, m).catch((err: Error) => this.logFailure('worker message', err)));
    child.on('error', (err) => this.opts.log.error({ err: err.message, pid: child.pid }, 'worker process error'));
    // 'close', not 'exit': by then stderr is read to its end, fatal report included.
    child.on('close', (code, signal) => {
      this.onExit(slot, code, signal)
        .catch((err: Error) => this.logFailure('worker exit', err))
        .finally(onExit);
    });
  }

  private async onMessage(slot: Slot, m: FromWorker): Promise<void> {
    const { store, events } = this.opts;
    switch (m.type) {
      case 'ready':
        slot.ready = true;
        this.firstReady();
        this.opts.log.debug({ pid: slot.child.pid }, 'worker ready');
        return this.pump();
      case 'progress':
        await store.analyses.setProgress(m.analysisId, m.attempt, m.progress, m.message);
        events.publish(m.analysisId);
        return;
      case 'runtimeInfo':
        this.runtimeRequests.get(m.requestId)?.(m.info);
        this.runtimeRequests.delete(m.requestId);
        return;
      case 'finished':
        if (slot.job?.analysisId !== m.analysisId || slot.job.attempt !== m.attempt) return;
        this.clearJob(slot);
        events.publish(m.analysisId);
        return this.pump();
    }
  }

  private async onExit(slot: Slot, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    this.slots.delete(slot);
    const job = slot.job;
    this.clearJob(slot);
    if (job && this.stopping) {
      await this.opts.queue.release(job);
    } else if (job) {
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      const { store, queue, events, log, jobAttempts } = this.opts;
      const overLimit = slot.overLimit ?? (slot.stderr.outOfMemory ? this.heapMessage() : undefined);
      if (overLimit) {
        log.error({ analysisId: job.analysisId, pid: slot.child.pid, how, report: slot.stderr.firstLine || undefined }, 'worker out of memory; job failed');
        await store.analyses.fail(job.analysisId, job.attempt, 'RESOURCE_LIMIT', overLimit);
      } else if (job.attempt < jobAttempts) {
        log.warn({ analysisId: job.analysisId, pid: slot.child.pid, how }, 'worker died; job re-queued');
        await queue.release(job);
      } else {
        log.error({ analysisId: job.analysisId, pid: slot.child.pid, how }, 'worker died; job failed');
        await store.analyses.fail(job.analysisId, job.attempt, 'INTERNAL', `the worker process died (${how}) while running this analysis`);
      }
      events.publish(job.analysisId);
    }
    if (!this.stopping) {
      // A short pause keeps a worker that dies at start-up from spinning the CPU.
      setTimeout(() => {
        if (!this.stopping) this.spawn();
      }, 200).unref();
    }
  }

  private heapMessage(): string {
    return `the analysis ran out of memory: it reached the worker's V8 heap limit of ${this.opts.maxHeapMb} MB (ONNXSCOPE_WORKER_MAX_HEAP_MB)`;
  }

  /** Kills a busy worker whose resident size is past maxRssMb (its job fails with RESOURCE_LIMIT when it exits). */
  private async checkResidentSizes(): Promise<void> {
    for (const slot of this.slots) {
      if (!slot.job || slot.overLimit || slot.child.pid === undefined) continue;
      const mb = await residentMb(slot.child.pid);
      if (mb === undefined || mb <= this.opts.maxRssMb || !slot.job) continue;
      slot.overLimit =
        `the analysis ran out of memory: its worker's resident size reached ${Math.round(mb)} MB, ` +
        `over the limit of ${this.opts.maxRssMb} MB (ONNXSCOPE_WORKER_MAX_RSS_MB)`;
      this.opts.log.warn({ analysisId: slot.job.analysisId, pid: slot.child.pid, residentMb: Math.round(mb) }, 'worker over its memory limit; killing it');
      slot.child.kill('SIGKILL');
    }
  }

  private logFailure(what: string, err: Error): void {
    this.opts.log.error({ err: err.message }, `${what} handling failed`);
  }

  private clearJob(slot: Slot): void {
    clearTimeout(slot.budgetTimer);
    clearTimeout(slot.killTimer);
    slot.job = null;
  }

  /** Hands queued jobs to idle workers until one or the other runs out. */
  private async pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        for (;;) {
          if (this.stopping) return;
          const idle = [...this.slots].find((s) => s.ready && !s.job && s.child.connected);
          if (!idle) break;
          const job = await this.opts.queue.claim();
          if (!job) break;
          this.assign(idle, job);
        }
      } while (this.pumpAgain);
    } catch (err) {
      this.opts.log.error({ err: (err as Error).message }, 'could not hand out jobs');
    } finally {
      this.pumping = false;
    }
  }

  private assign(slot: Slot, job: JobPayload): void {
    slot.job = job;
    slot.budgetTimer = setTimeout(
      () => this.outOfTime(slot, job).catch((err: Error) => this.logFailure('time budget', err)),
      this.opts.jobTimeoutMs,
    );
    this.send(slot, { type: 'run', job });
    this.opts.events.publish(job.analysisId);
    this.opts.log.info({ analysisId: job.analysisId, analyzer: job.analyzer, attempt: job.attempt, pid: slot.child.pid }, 'job started');
  }

  private async outOfTime(slot: Slot, job: JobPayload): Promise<void> {
    if (slot.job !== job) return;
    const message = `the analysis exceeded its time budget of ${this.opts.jobTimeoutMs} ms`;
    await this.opts.store.analyses.fail(job.analysisId, job.attempt, 'TIMEOUT', message);
    this.opts.events.publish(job.analysisId);
    this.abort(slot, 'TIMEOUT', message);
  }

  /** Asks the worker to stop its job; a worker that does not stop in time is killed (and replaced). */
  private abort(slot: Slot, code: 'CANCELLED' | 'TIMEOUT', message: string): void {
    const job = slot.job;
    if (!job) return;
    this.send(slot, { type: 'abort', analysisId: job.analysisId, code, message });
    clearTimeout(slot.killTimer);
    slot.killTimer = setTimeout(() => {
      if (slot.job === job) {
        this.opts.log.warn({ analysisId: job.analysisId, pid: slot.child.pid }, 'worker did not stop; killing it');
        slot.child.kill('SIGKILL');
      }
    }, this.opts.abortGraceMs ?? 3000);
  }

  private send(slot: Slot, m: ToWorker): void {
    if (slot.child.connected) slot.child.send(m);
  }
}

/** A process's resident size in MB from /proc (Linux); undefined elsewhere or once it is gone. */
async function residentMb(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}
