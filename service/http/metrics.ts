/**
 * GET /metrics in Prometheus text format (prom-client), any valid token: the analyses by status
 * and the computed ones as a counter (throughput = rate()), in both modes; with BullMQ also the
 * queue's depth by state, whether Redis answers, and the live workers.
 */
import { Router } from 'express';
import { Counter, Gauge, Registry } from 'prom-client';
import type { App } from '../app.js';
import { authenticate } from './auth.js';

export function metricsRoutes(app: App): Router {
  const registry = new Registry();
  new Gauge({
    name: 'onnxscope_analyses',
    help: 'Analyses by status (cache answers included).',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [status, n] of Object.entries(await app.store.analyses.countByStatus())) this.set({ status }, n);
    },
  });
  new Counter({
    name: 'onnxscope_analyses_computed_total',
    help: 'Analyses computed by a worker (not answered from the cache) that ended, by status.',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [status, n] of Object.entries(await app.store.analyses.countComputed())) this.inc({ status }, n);
    },
  });
  new Gauge({
    name: 'onnxscope_workers',
    help: 'Workers alive (local pool processes, or onnxscope worker processes heard from), and busy ones.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const s = app.pool.stats();
      this.set({ state: 'ready' }, s.ready);
      this.set({ state: 'busy' }, s.busy);
    },
  });
  const remote = app.remote;
  if (remote) {
    new Gauge({
      name: 'onnxscope_queue_up',
      help: 'Whether Redis (the BullMQ queue) answers: 1 or 0.',
      registers: [registry],
      collect() {
        this.set(remote.queueUp ? 1 : 0);
      },
    });
    new Gauge({
      name: 'onnxscope_queue_jobs',
      help: 'BullMQ analysis jobs by state (as of the last reconciliation, every second).',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const d = remote.queueDepth();
        for (const state of ['waiting', 'active', 'delayed', 'failed'] as const) this.set({ state }, d[state]);
      },
    });
    new Counter({
      name: 'onnxscope_queue_completed_total',
      help: 'BullMQ analysis jobs completed since this server started.',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(remote.queueDepth().completedSinceStart);
      },
    });
  }
  const router = Router();
  router.get('/metrics', authenticate(app.config.tokens), async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}
