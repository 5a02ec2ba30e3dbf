/**
 * Driving zoo runs: two drivers move a run's items forward, sharing everything else.
 *  - queue (the server): items become jobs of the persisted queue through AnalysisService.run, at
 *    most `concurrency` in flight; a poller advances them as jobs end (App.close() stops it).
 *    After a restart, the queued jobs carry on in the worker pool and the poller resumes them.
 *  - embedded (the CLI, tests): items run in this process through AnalysisService.runNow,
 *    `concurrency` at a time; an interrupted item goes back to PENDING, and running the same spec
 *    again resumes the unfinished run.
 * One failing item is recorded and skipped, never stops the run.
 */
import { AppError, toAppError } from '../common/errors.js';
import type { Store } from '../storage/store.js';
import type { AnalysisRecord } from '../storage/records.js';
import type { ZooItemRecord, ZooRepo } from '../storage/zoos.js';
import type { AnalysisService } from './analysisService.js';
import { requestOf } from './zooPlan.js';

export interface ZooProgress {
  total: number;
  succeeded: number;
  failed: number;
  pending: number;
  running: number;
  /** Items whose analysis came from the cache. */
  cached: number;
  done: number;
  /** "k of N". */
  text: string;
}

export type EmbeddedProgress = (p: ZooProgress, last: ZooItemRecord | null) => void;

export class ZooDriver {
  private poller: NodeJS.Timeout | null = null;
  private pumping = false;
  private readonly pumps = new Map<string, Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly repo: ZooRepo,
    private readonly analyses: AnalysisService,
  ) {}

  async progress(runId: string): Promise<ZooProgress> {
    const c = await this.repo.counts(runId);
    const items = await this.repo.items(runId, 'SUCCEEDED');
    const total = c.PENDING + c.SUBMITTED + c.SUCCEEDED + c.FAILED;
    const done = c.SUCCEEDED + c.FAILED;
    return { total, succeeded: c.SUCCEEDED, failed: c.FAILED, pending: c.PENDING, running: c.SUBMITTED, cached: items.filter((i) => i.cached).length, done, text: `${done} of ${total}` };
  }

  private async run(id: string) {
    const r = await this.repo.run(id);
    if (!r) throw new AppError('NOT_FOUND', `no zoo run with id ${id}`, { zooRunId: id });
    return r;
  }

  /**
   * Queue driver, one step: settle submitted items whose jobs ended, submit pending ones up to
   * the concurrency limit (cache hits settle at once and take no slot), finish the run when no
   * item is left. Idempotent; safe to call from any request.
   */
  pump(runId: string): Promise<void> {
    // One step at a time per run (poller and requests both call this): two concurrent steps
    // would each see a free slot and overshoot the concurrency limit.
    const prev = this.pumps.get(runId) ?? Promise.resolve();
    const next = prev.then(() => this.pumpStep(runId), () => this.pumpStep(runId));
    const tail = next.catch(() => undefined);
    this.pumps.set(runId, tail);
    void tail.then(() => {
      if (this.pumps.get(runId) === tail) this.pumps.delete(runId);
    });
    return next;
  }

  private async pumpStep(runId: string): Promise<void> {
    const run = await this.run(runId);
    if (run.status !== 'RUNNING') return;
    let inFlight = 0;
    for (const it of await this.repo.items(runId, 'SUBMITTED')) {
      const a = it.analysisId ? await this.store.analyses.byId(it.analysisId) : undefined;
      if (!a) await this.repo.markPending(runId, it.seq);
      else if (a.status === 'SUCCEEDED') await this.repo.markSucceeded(runId, it.seq, a.id, a.cacheKey, a.cached);
      else if (a.status === 'FAILED' || a.status === 'CANCELLED') await this.repo.markFailed(runId, it.seq, a.error?.code ?? a.status, a.error?.message ?? a.status.toLowerCase(), a.id);
      else inFlight++;
    }
    const pending = await this.repo.items(runId, 'PENDING');
    if (this.analyses.groupsQueued && pending.length > 0) {
      // A distributed queue takes the whole run as one group (a BullMQ flow); the workers' number bounds what runs at once.
      const outcomes = await this.analyses.runGroup(runId, pending.map(requestOf));
      for (const [k, it] of pending.entries()) await this.settleSubmitted(runId, it, outcomes[k]!);
      pending.length = 0;
    }
    for (const it of pending) {
      if (inFlight >= run.concurrency) break;
      try {
        const a = await this.analyses.run(requestOf(it));
        if (a.status === 'SUCCEEDED') await this.repo.markSucceeded(runId, it.seq, a.id, a.cacheKey, a.cached);
        else {
          await this.repo.markSubmitted(runId, it.seq, a.id, a.cacheKey);
          inFlight++;
        }
      } catch (err) {
        const e = toAppError(err);
        await this.repo.markFailed(runId, it.seq, e.code, e.message);
      }
    }
    const c = await this.repo.counts(runId);
    if (c.PENDING === 0 && c.SUBMITTED === 0) await this.repo.finishRun(runId);
  }

  private async settleSubmitted(runId: string, it: ZooItemRecord, a: AnalysisRecord | AppError): Promise<void> {
    if (a instanceof AppError) await this.repo.markFailed(runId, it.seq, a.code, a.message);
    else if (a.status === 'SUCCEEDED') await this.repo.markSucceeded(runId, it.seq, a.id, a.cacheKey, a.cached);
    else await this.repo.markSubmitted(runId, it.seq, a.id, a.cacheKey);
  }

  /**
   * Embedded driver: runs every unfinished item in this process, `concurrency` at a time.
   * Stops starting new items when `signal` aborts; the interrupted ones go back to PENDING.
   */
  async runEmbedded(runId: string, onProgress: EmbeddedProgress, signal: AbortSignal, itemTimeoutMs = 0): Promise<ZooProgress> {
    const run = await this.run(runId);
    // SUBMITTED here means a process died mid-item: its analysis may even have finished (then the cache answers).
    for (const it of await this.repo.items(runId, 'SUBMITTED')) await this.repo.markPending(runId, it.seq);
    const queue = await this.repo.items(runId, 'PENDING');
    onProgress(await this.progress(runId), null);
    const worker = async () => {
      for (let it = queue.shift(); it && !signal.aborted; it = queue.shift()) {
        await this.repo.markSubmitted(runId, it.seq, '', '');
        // Each item gets its own time budget (a runaway model fails alone, TIMEOUT); the run's signal stops everything.
        const item = new AbortController();
        const stop = () => item.abort(signal.reason);
        signal.addEventListener('abort', stop, { once: true });
        const timer = itemTimeoutMs > 0 ? setTimeout(() => item.abort(new AppError('TIMEOUT', `the analysis exceeded its time budget of ${itemTimeoutMs} ms`)), itemTimeoutMs) : null;
        try {
          const out = await this.analyses.runNow(requestOf(it), () => undefined, item.signal);
          await this.repo.markSucceeded(runId, it.seq, out.analysis.id, out.analysis.cacheKey, out.cached);
        } catch (err) {
          if (signal.aborted) {
            await this.repo.markPending(runId, it.seq);
            break;
          }
          const e = toAppError(err);
          await this.repo.markFailed(runId, it.seq, e.code, e.message);
        } finally {
          if (timer) clearTimeout(timer);
          signal.removeEventListener('abort', stop);
        }
        onProgress(await this.progress(runId), it);
      }
    };
    await Promise.all(Array.from({ length: Math.min(run.concurrency, Math.max(1, queue.length)) }, worker));
    const p = await this.progress(runId);
    if (p.pending === 0 && p.running === 0) await this.repo.finishRun(runId);
    return p;
  }

  close(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
  }

  /** Queue mode: advances every active queue-driven run each ms (runs left RUNNING by a previous process resume). */
  startPoller(ms: number): void {
    if (this.poller) return;
    this.poller = setInterval(() => void this.pumpAll(), ms);
    this.poller.unref();
  }

  private async pumpAll(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (const r of await this.repo.activeRuns()) if (r.spec.driver !== 'embedded') await this.pump(r.id);
    } catch {
      // The store closed under us (shutdown): stop polling; the next process resumes the runs.
      this.close();
    } finally {
      this.pumping = false;
    }
  }
}
