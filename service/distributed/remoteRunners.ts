/**
 * The server's side of the remote workers (BullMQ mode), in place of the local pool:
 *  - relays progress from BullMQ's event stream into the database and on to `analysisUpdated`;
 *  - reconciles the analyses table with Redis every second: a job Redis lacks (published while
 *    Redis was down, or lost with it) is published again; a job BullMQ gave up on (its sandboxed
 *    child crashed on every attempt, or its worker disappeared twice: stalled) is recorded FAILED;
 *  - completes the parents of zoo-run flows (their children's outcomes are recorded per item);
 *  - reads the worker registry for the `workers` query, /readyz and /metrics.
 * Redis being down is reported (problems()), never fatal: the rows stay, and work resumes when
 * it is back.
 */
import { QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Store } from '../../storage/store.js';
import type { AnalysisEvents } from '../events.js';
import type { JobRunners } from '../jobs/queue.js';
import { runtimeInfo, type RuntimeInfo } from '../../native/runtime/session.js';
import { ANALYSIS_QUEUE, ZOO_QUEUE, redisOptions, type RemoteProgress } from './connection.js';
import { liveWorkers, type WorkerHeartbeat } from './registry.js';
import type { BullJobQueue } from './bullQueue.js';

export interface RemoteRunnersOptions {
  queueUrl: string;
  queue: BullJobQueue;
  store: Store;
  events: AnalysisEvents;
  log: Logger;
  /** How often the analyses table is checked against Redis. */
  reconcileMs?: number;
  /** Rows younger than this are not re-published (their first publish may still be in flight). */
  publishGraceMs?: number;
}

export interface QueueDepth {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  /** Jobs finished by the workers since this server started (BullMQ completions it heard). */
  completedSinceStart: number;
}

export class RemoteRunners implements JobRunners {
  private readonly events: QueueEvents;
  private readonly parents: Worker;
  /** Own connection without an offline queue: commands fail at once while Redis is down. */
  private readonly probe: Redis;
  private workersSeen: WorkerHeartbeat[] = [];
  private depth: QueueDepth = { waiting: 0, active: 0, delayed: 0, failed: 0, completedSinceStart: 0 };
  private completed = 0;
  private lastError: string | null = null;
  private readonly timer: NodeJS.Timeout;
  private ticking = false;
  private firstReady!: () => void;
  readonly whenReady = new Promise<void>((resolve) => (this.firstReady = resolve));

  constructor(private readonly opts: RemoteRunnersOptions) {
    const connection = redisOptions(opts.queueUrl);
    this.probe = new Redis({ ...connection, enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
    this.probe.on('error', (err: Error) => (this.lastError = err.message));
    this.events = new QueueEvents(ANALYSIS_QUEUE, { connection });
    this.events.on('error', () => undefined);
    this.events.on('progress', ({ jobId, data }) => void this.onProgress(jobId, data as unknown as RemoteProgress));
    this.events.on('active', ({ jobId }) => opts.events.publish(jobId));
    this.events.on('completed', () => void this.completed++);
    this.events.on('failed', () => void this.tick());
    this.parents = new Worker(ZOO_QUEUE, async (job) => job.getDependenciesCount(), { connection, concurrency: 4 });
    this.parents.on('error', () => undefined);
    this.timer = setInterval(() => void this.tick(), opts.reconcileMs ?? 1000);
    this.timer.unref();
    void this.tick();
  }

  /** Whether Redis answers (the probe connection is up). */
  get queueUp(): boolean {
    return this.probe.status === 'ready';
  }

  queueDepth(): QueueDepth {
    return { ...this.depth, completedSinceStart: this.completed };
  }

  workers(): WorkerHeartbeat[] {
    return this.workersSeen;
  }

  stats() {
    const busy = this.workersSeen.filter((w) => w.currentJobs.length > 0).length;
    return { size: this.workersSeen.length, ready: this.workersSeen.length, busy };
  }

  problems(): string[] {
    if (!this.queueUp) return [`queue: Redis at ${this.opts.queueUrl} is unreachable${this.lastError ? ` (${this.lastError})` : ''}`];
    return this.workersSeen.length === 0 ? ['no onnxscope worker is connected to the queue'] : [];
  }

  async runtimeInfo(): Promise<RuntimeInfo> {
    return this.workersSeen[0]?.runtime ?? runtimeInfo();
  }

  cancel(analysisId: string): void {
    this.opts.queue.cancel(analysisId).catch((err: Error) => this.opts.log.warn({ analysisId, err: err.message }, 'could not signal the cancellation'));
  }

  pidOf(): number | undefined {
    return undefined;
  }

  /** The workers keep their jobs (they post results to whichever server runs next). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.allSettled([this.events.close(), this.parents.close(), this.opts.queue.close()]);
    this.probe.disconnect();
  }

  private async onProgress(analysisId: string, p: RemoteProgress): Promise<void> {
    if (typeof p?.attempt !== 'number') return;
    try {
      await this.opts.store.analyses.setProgress(analysisId, p.attempt, p.progress, p.message);
      this.opts.events.publish(analysisId);
    } catch (err) {
      this.opts.log.warn({ analysisId, err: (err as Error).message }, 'progress not recorded');
    }
  }

  /** One reconciliation pass (skipped while Redis is down or a pass is running). */
  private async tick(): Promise<void> {
    if (this.ticking || !this.queueUp) return;
    this.ticking = true;
    try {
      this.workersSeen = await liveWorkers(this.probe);
      if (this.workersSeen.length > 0) this.firstReady();
      const counts = await this.opts.queue.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
      this.depth = { waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0), active: counts.active ?? 0, delayed: counts.delayed ?? 0, failed: counts.failed ?? 0, completedSinceStart: this.completed };
      await this.reconcile();
    } catch (err) {
      this.lastError = (err as Error).message;
    } finally {
      this.ticking = false;
    }
  }

  private async reconcile(): Promise<void> {
    const { store, queue, events, log } = this.opts;
    const grace = this.opts.publishGraceMs ?? 5000;
    for (const row of await store.analyses.unfinished(5000)) {
      const state = await queue.queue.getJobState(row.id);
      if (state === 'failed') {
        const job = await queue.queue.getJob(row.id);
        const reason = job?.failedReason ?? 'unknown reason';
        if (await store.analyses.fail(row.id, null, 'INTERNAL', `the analysis failed on the workers: ${reason}`)) {
          log.error({ analysisId: row.id, reason, attemptsMade: job?.attemptsMade }, 'job failed on the workers');
          events.publish(row.id);
        }
      } else if (state === 'unknown' && Date.now() - row.createdAt.getTime() > grace) {
        log.warn({ analysisId: row.id, status: row.status }, 'job missing from the queue; publishing it again');
        await queue.publish(row);
      }
    }
  }
}

