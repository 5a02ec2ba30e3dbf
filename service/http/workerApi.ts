/**
 * /worker/v1: what `onnxscope worker` processes on other machines need from the server, with a
 * token that has the worker scope. The server stays the single writer of the database and the
 * blob store: workers read blobs by sha256 and post each job's start, result or failure here.
 *   GET  /worker/v1/hello              token check at worker start-up (401/403 refuse the worker)
 *   GET  /worker/v1/blobs/:sha256      model and dataset bytes (content-addressed, immutable)
 *   GET  /worker/v1/models/:ref        { sha256 } of a model by id or sha256 (analyzers that read a second model)
 *   GET  /worker/v1/datasets/:sha256   { fileSha256, preprocessing } of a dataset (how to decode it)
 *   POST /worker/v1/jobs/:id/start     { attempt } of this run, or 409 when the analysis already ended
 *   POST /worker/v1/jobs/:id/result    { attempt, result, durationMs, artifacts[] } -> { recorded }
 *   POST /worker/v1/jobs/:id/failure   { attempt, code, message } -> { recorded }
 * A report from an attempt that is no longer the current one is answered recorded: false and
 * changes nothing, so a result is never written twice.
 */
import express, { Router, type Request, type Response } from 'express';
import { AppError, toAppError } from '../../common/errors.js';
import { SHA_RE } from '../../storage/blobs.js';
import type { App } from '../app.js';
import type { Scope } from '../config.js';
import { payloadOf } from '../jobs/payload.js';
import { BlobArtifactSink } from '../jobs/artifacts.js';
import { authenticate } from './auth.js';

export interface PostedArtifact {
  name: string;
  mimeType: string;
  base64: string;
}

export interface PostedResult {
  attempt: number;
  result: unknown;
  durationMs: number;
  artifacts: PostedArtifact[];
}

export function workerApiRoutes(app: App): Router {
  const router = Router();
  const { store, events } = app;
  router.use('/worker/v1', authenticate(app.config.tokens), (_req, res, next) => {
    if (!(res.locals.scopes as ReadonlySet<Scope>).has('worker')) {
      res.status(403).json({ error: { code: 'FORBIDDEN', message: 'this needs a token with the worker scope' } });
      return;
    }
    next();
  }, express.json({ limit: app.config.maxUploadBytes }));

  router.get('/worker/v1/hello', (_req, res) => {
    res.json({ ok: true, queue: app.config.queueUrl !== null });
  });

  router.get('/worker/v1/blobs/:sha', handle(async (req, res) => {
    const sha = String(req.params.sha);
    if (!SHA_RE.test(sha) || !(await store.blobs.has(sha))) throw new AppError('NOT_FOUND', `no blob ${sha}`);
    const bytes = await store.blobs.get(sha);
    res.status(200).type('application/octet-stream').set('Cache-Control', 'private, max-age=31536000, immutable')
      .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }));

  router.get('/worker/v1/models/:ref', handle(async (req, res) => {
    const ref = String(req.params.ref);
    const model = (await store.models.byId(ref)) ?? (SHA_RE.test(ref) ? await store.models.bySha(ref) : undefined);
    if (!model) throw new AppError('NOT_FOUND', `no stored model with id or sha256 ${ref}`, { model: ref });
    res.json({ sha256: model.sha256 });
  }));

  router.get('/worker/v1/datasets/:sha', handle(async (req, res) => {
    const dataset = await store.datasets.bySha(String(req.params.sha));
    if (!dataset) throw new AppError('NOT_FOUND', `no dataset ${String(req.params.sha)}`);
    res.json({ fileSha256: dataset.fileSha256, preprocessing: dataset.preprocessing });
  }));

  router.post('/worker/v1/jobs/:id/start', handle(async (req, res) => {
    const id = String(req.params.id);
    const started = await store.analyses.startAttempt(id);
    if (!started) {
      const now = await store.analyses.byId(id);
      res.status(409).json({ error: { code: now ? 'CANCELLED' : 'NOT_FOUND', message: now ? `the analysis is ${now.status}` : `no analysis ${id}` } });
      return;
    }
    events.publish(id);
    res.json({ attempt: started.attempts });
  }));

  router.post('/worker/v1/jobs/:id/result', handle(async (req, res) => {
    const id = String(req.params.id);
    const body = req.body as PostedResult;
    if (!Number.isInteger(body?.attempt) || !Number.isFinite(body?.durationMs) || !Array.isArray(body?.artifacts) || body.result === undefined) {
      throw new AppError('BAD_PARAMS', 'a result needs attempt, result, durationMs and artifacts');
    }
    const record = await store.analyses.byId(id);
    const job = record && (await payloadOf(store, record));
    if (!job) throw new AppError('NOT_FOUND', `no analysis ${id}`);
    const sink = new BlobArtifactSink(store.blobs);
    for (const a of body.artifacts) await sink.write(String(a.name), Buffer.from(String(a.base64), 'base64'), String(a.mimeType));
    // The cache key and hashes come from the server's own row, never from the worker.
    const recorded = await store.analyses.complete(
      { id, attempt: body.attempt, cacheKey: job.cacheKey, modelSha256: job.modelSha256, datasetSha256: job.datasetSha256,
        analyzer: job.analyzer, analyzerVersion: job.analyzerVersion, paramsJson: job.paramsJson },
      JSON.stringify(body.result),
      Math.round(body.durationMs),
      sink.stored(),
    );
    events.publish(id);
    res.json({ recorded });
  }));

  router.post('/worker/v1/jobs/:id/failure', handle(async (req, res) => {
    const id = String(req.params.id);
    const body = req.body as { attempt?: number; code?: string; message?: string };
    if (!Number.isInteger(body?.attempt) || typeof body.code !== 'string') throw new AppError('BAD_PARAMS', 'a failure needs attempt and code');
    const recorded = await store.analyses.fail(id, body.attempt!, body.code, String(body.message ?? body.code));
    events.publish(id);
    res.json({ recorded });
  }));
  return router;
}

function handle(fn: (req: Request, res: Response) => Promise<void>) {
  return (req: Request, res: Response) => {
    fn(req, res).catch((err: unknown) => {
      const e = toAppError(err);
      const status = e.code === 'NOT_FOUND' ? 404 : e.code === 'BAD_PARAMS' || e.code === 'TOO_LARGE' ? 400 : 500;
      res.status(status).json({ error: { code: e.code, message: status === 500 ? 'internal error' : e.message } });
    });
  };
}
