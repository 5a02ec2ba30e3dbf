/**
 * Worker process entry (forked by WorkerPool). Runs one job at a time: a native crash or a
 * runaway model here fails only this process's job, never the GraphQL process.
 */
import os from 'node:os';
import { AppError } from '../../common/errors.js';
import { openStore } from '../../storage/store.js';
import { AnalyzerCatalog } from '../analyzerCatalog.js';
import { createLogger } from '../logger.js';
import { executeJob, jobLimitsOf, recordFailure } from '../jobs/execute.js';
import type { JobPayload } from '../jobs/payload.js';
import { throttledProgress } from '../jobs/progress.js';
import { probeRuntime } from './runtimeProbe.js';
import { setRuntimeLogger } from '../../native/runtime/session.js';
import { WORKER_SETUP_ENV, type FromWorker, type ToWorker, type WorkerSetup } from './protocol.js';

const setup = JSON.parse(process.env[WORKER_SETUP_ENV] ?? '{}') as WorkerSetup;
// Analyses yield the CPU to the API process (reads stay fast on a small machine while models run).
// Linux niceness is per thread: set here, before onnxruntime starts its thread pools, which inherit it.
// Never below the niceness we were started with (raising priority needs privileges).
if (setup.nice) os.setPriority(Math.max(setup.nice, os.getPriority()));
const log = createLogger(setup.logLevel ?? 'info', 2).child({ role: 'worker' });
const send = (m: FromWorker) => process.send?.(m);
setRuntimeLogger((line) => log.info(line));

const store = await openStore(setup.dataDir);
const catalog = await AnalyzerCatalog.load(setup.analyzerModules ?? []);
const limits = jobLimitsOf({ workerMaxRssMb: setup.maxRssMb });
let current: { job: JobPayload; controller: AbortController } | null = null;

process.on('message', (m: ToWorker) => {
  if (m.type === 'run') {
    run(m.job).catch((err: Error) => {
      // Could not even record the outcome (database unreachable): let the pool treat this as a crash.
      log.error({ analysisId: m.job.analysisId, err: err.message }, 'job bookkeeping failed');
      process.exit(70);
    });
  }
  else if (m.type === 'abort' && current?.job.analysisId === m.analysisId) {
    current.controller.abort(new AppError(m.code, m.message));
  } else if (m.type === 'runtimeInfo') {
    void probeRuntime().then((info) => send({ type: 'runtimeInfo', requestId: m.requestId, info }));
  }
});
// The parent went away: nothing will read our results' notifications, stop.
process.on('disconnect', () => process.exit(0));

async function run(job: JobPayload): Promise<void> {
  const controller = new AbortController();
  current = { job, controller };
  const progress = throttledProgress(setup.progressIntervalMs ?? 250, (p, message) =>
    send({ type: 'progress', analysisId: job.analysisId, attempt: job.attempt, progress: p, message }),
  );
  try {
    const outcome = await executeJob(store, catalog, job, progress, controller.signal, limits);
    log.info({ analysisId: job.analysisId, durationMs: outcome.durationMs, recorded: outcome.recorded }, 'job finished');
    send({ type: 'finished', analysisId: job.analysisId, attempt: job.attempt, ok: true });
  } catch (err) {
    const error = await recordFailure(store, job, err, controller.signal);
    log.warn({ analysisId: job.analysisId, code: error.code, err: error.message }, 'job failed');
    send({ type: 'finished', analysisId: job.analysisId, attempt: job.attempt, ok: false, code: error.code, message: error.message });
  } finally {
    current = null;
  }
}

send({ type: 'ready' });
