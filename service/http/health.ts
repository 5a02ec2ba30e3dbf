import { Router } from 'express';
import type { App } from '../app.js';

/**
 * /healthz: the process answers. /readyz: it can do work — the database responds, a worker is
 * up (and, with BullMQ, Redis answers), and it is not shutting down (load balancers stop sending traffic once this fails).
 */
export function healthRoutes(app: App, isShuttingDown: () => boolean): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const problems: string[] = [];
    if (isShuttingDown()) problems.push('shutting down');
    try {
      await app.store.db.get('SELECT 1 AS ok');
    } catch (err) {
      problems.push(`database: ${(err as Error).message}`);
    }
    problems.push(...app.pool.problems());
    const workers = app.pool.stats();
    res.status(problems.length ? 503 : 200).json({ status: problems.length ? 'unavailable' : 'ready', problems, workers });
  });
  return router;
}
