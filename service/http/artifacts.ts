import { Router, type RequestHandler } from 'express';
import { AppError } from '../../common/errors.js';
import type { App } from '../app.js';
import type { Scope } from '../config.js';
import { ALL_SCOPES, authenticate } from './auth.js';
import { signPath, verifySignedPath } from './artifactSigning.js';

/**
 * GET /artifacts/:analysisId/:name — the files analyzers produce (Analysis.artifacts gives the
 * URLs). With tokens configured: a bearer token with the read scope, or a signed URL (what
 * Analysis.artifacts hands out, so a browser can open it).
 */
export function artifactRoutes(app: App): Router {
  const router = Router();
  const bearer = authenticate(app.config.tokens);
  const signedOrBearer: RequestHandler = (req, res, next) => {
    if (req.query.sig !== undefined && verifySignedPath(artifactUrl(String(req.params.analysisId), String(req.params.name)), req.query.exp, req.query.sig)) {
      res.locals.scopes = ALL_SCOPES;
      next();
      return;
    }
    bearer(req, res, next);
  };
  router.get('/artifacts/:analysisId/:name', signedOrBearer, async (req, res) => {
    if (!(res.locals.scopes as ReadonlySet<Scope>).has('read')) {
      res.status(403).json({ error: { code: 'FORBIDDEN', message: 'this needs the read scope' } });
      return;
    }
    try {
      const { record, bytes } = await app.analyses.artifact(String(req.params.analysisId), String(req.params.name));
      res
        .status(200)
        .type(record.mimeType)
        // Content-addressed: the bytes behind this URL never change.
        .set('Cache-Control', 'private, max-age=31536000, immutable')
        .set('ETag', `"${record.sha256}"`)
        .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (err) {
      const code = err instanceof AppError ? err.code : 'INTERNAL';
      res.status(code === 'NOT_FOUND' ? 404 : 500).json({ error: { code, message: err instanceof AppError ? err.message : 'internal error' } });
    }
  });
  return router;
}

export const artifactUrl = (analysisId: string, name: string) => `/artifacts/${encodeURIComponent(analysisId)}/${encodeURIComponent(name)}`;

/** The URL Analysis.artifacts reports: plain without tokens, signed (short-lived) with them. */
export const publicArtifactUrl = (analysisId: string, name: string, tokensConfigured: boolean) =>
  tokensConfigured ? signPath(artifactUrl(analysisId, name)) : artifactUrl(analysisId, name);
