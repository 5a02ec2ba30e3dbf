/**
 * The dashboard: the static files `npm run build` puts in dist/web (sources in web/), served at
 * `/`. They are public (no data in them); every call they make goes to /graphql and
 * /artifacts with the same auth as any other client.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';

/** dist/web, beside dist/service/http where this module runs from. */
export const WEB_DIST = fileURLToPath(new URL('../../web/', import.meta.url));

export function webUiRoutes(dir = WEB_DIST): Router {
  const router = Router();
  if (!existsSync(`${dir}/index.html`)) {
    router.get('/', (_req, res) => {
      res.status(404).type('text/plain').send('The dashboard is not built: run `npm run build` (it builds web/ into dist/web).\n');
    });
    return router;
  }
  // Hashed asset names never change their bytes; index.html must be fetched fresh.
  router.use(
    '/assets',
    express.static(`${dir}/assets`, { immutable: true, maxAge: '1y', fallthrough: false }),
  );
  router.get('/', (_req, res) => {
    res.set('Cache-Control', 'no-cache').sendFile('index.html', { root: dir });
  });
  return router;
}
