import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';

/**
 * Errors raised before GraphQL runs (body too large, malformed multipart request, too many
 * files) answered in the GraphQL error shape with a DESIGN.md code, instead of Express's HTML page.
 */
export function httpErrorHandler(log: Logger) {
  return (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const status = Number((err as { status?: number; statusCode?: number }).status ?? (err as { statusCode?: number }).statusCode ?? 500);
    const code = status === 413 ? 'TOO_LARGE' : status >= 400 && status < 500 ? 'BAD_PARAMS' : 'INTERNAL';
    const message = code === 'INTERNAL' ? 'internal error' : (err as Error).message;
    if (code === 'INTERNAL') log.error({ err: (err as Error).message }, 'HTTP request failed');
    res.status(status >= 400 && status < 600 ? status : 500).json({ errors: [{ message, extensions: { code } }] });
  };
}
