/**
 * The JobQueue on BullMQ (server side). The analyses table stays the record of every job (the
 * server is its only writer); BullMQ carries the jobs to `onnxscope worker` processes. enqueue
 * writes the QUEUED row, then publishes the job to Redis without waiting for it: with Redis down
 * the request still answers, and the reconciler (remoteRunners.ts) publishes whatever Redis lacks.
 */
import { FlowProducer, Queue, QueueEventsProducer } from 'bullmq';
import type { RedisOptions } from 'bullmq';
import type { Logger } from 'pino';
import type { Store } from '../../storage/store.js';
import type { NewAnalysis } from '../../storage/analyses.js';
import type { AnalysisRecord } from '../../storage/records.js';
import type { JobQueue } from '../jobs/queue.js';
import { payloadOf, type JobPayload } from '../jobs/payload.js';
import { ANALYSIS_QUEUE, CANCEL_EVENT, ZOO_QUEUE, analysisJobOptions, type RemoteJobData } from './connection.js';

export class BullJobQueue implements JobQueue {
  readonly queue: Queue;
  private readonly flows: FlowProducer;
  private readonly signals: QueueEventsProducer;

  constructor(
    private readonly store: Store,
    connection: RedisOptions,
    private readonly attempts: number,
    private readonly log: Logger,
  ) {
    this.queue = new Queue(ANALYSIS_QUEUE, { connection });
    this.flows = new FlowProducer({ connection });
    this.signals = new QueueEventsProducer(ANALYSIS_QUEUE, { connection });
    // Connection errors are reported by /readyz (remoteRunners.ts); ioredis reconnects by itself.
    const ignore = () => undefined;
    this.queue.on('error', ignore);
    this.flows.on('error', ignore);
    this.signals.on('error', ignore);
  }

  async enqueue(job: NewAnalysis): Promise<AnalysisRecord> {
    const record = await this.store.analyses.insertQueued(job);
    void this.publish(record);
    return record;
  }

  /** A zoo run's new jobs: one flow, a parent in the zoo queue with a child per analysis. */
  async enqueueGroup(groupId: string, jobs: NewAnalysis[]): Promise<AnalysisRecord[]> {
    const records: AnalysisRecord[] = [];
    for (const job of jobs) records.push(await this.store.analyses.insertQueued(job));
    void this.publishFlow(groupId, records);
    return records;
  }

  /** Adds the job to Redis (a no-op when a job with its id is there already). */
  async publish(record: AnalysisRecord): Promise<void> {
    try {
      const payload = await payloadOf(this.store, record);
      if (!payload) return;
      await this.queue.add(payload.analyzer, dataOf(payload), analysisJobOptions(record.id, this.attempts));
    } catch (err) {
      this.log.warn({ analysisId: record.id, err: (err as Error).message }, 'could not publish the job to the queue; the reconciler retries');
    }
  }

  private async publishFlow(groupId: string, records: AnalysisRecord[]): Promise<void> {
    try {
      const children = [];
      for (const r of records) {
        const payload = await payloadOf(this.store, r);
        if (!payload) continue;
        // A failed child must not hold the parent forever: its failure is recorded per item.
        children.push({ name: payload.analyzer, queueName: ANALYSIS_QUEUE, data: dataOf(payload),
          opts: { ...analysisJobOptions(r.id, this.attempts), ignoreDependencyOnFailure: true } });
      }
      await this.flows.add({ name: 'zoo-run', queueName: ZOO_QUEUE, data: { runId: groupId }, opts: { jobId: `zoo-${groupId}-${records[0]!.id}` }, children });
    } catch (err) {
      this.log.warn({ runId: groupId, err: (err as Error).message }, 'could not publish the zoo flow; the reconciler publishes its jobs one by one');
    }
  }

  /** Remote workers pull from Redis; nothing is claimed here. */
  async claim(): Promise<JobPayload | undefined> {
    return undefined;
  }

  async release(): Promise<void> {}

  onAvailable(): () => void {
    return () => undefined;
  }

  /** Tells every worker to stop this analysis (a worker not yet running it skips it: its row is CANCELLED). */
  async cancel(analysisId: string): Promise<void> {
    await this.signals.publishEvent({ eventName: CANCEL_EVENT, analysisId });
  }

  async close(): Promise<void> {
    await Promise.all([this.queue.close(), this.flows.close(), this.signals.close()]);
  }
}

const dataOf = (p: JobPayload): RemoteJobData => {
  const { attempt: _attempt, ...data } = p;
  return data;
};
