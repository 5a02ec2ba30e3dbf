/**
 * Bearer-token authentication for /graphql. With no tokens configured every caller has every
 * scope (the server then listens on loopback only). Otherwise a missing or unknown token is
 * answered 401 UNAUTHENTICATED before GraphQL runs; scopes are checked per operation.
 */
import type { NextFunction, Request, Response } from 'express';
import type { IncomingHttpHeaders } from 'node:http';
import type { Config, Scope } from '../config.js';

export const ALL_SCOPES: ReadonlySet<Scope> = new Set<Scope>(['read', 'write', 'worker']);

/** The caller's scopes, or null when a token is required and missing or unknown. */
export function scopesFor(tokens: Config['tokens'], authorization: string | undefined): ReadonlySet<Scope> | null {
  if (!tokens) return ALL_SCOPES;
  const m = authorization?.match(/^Bearer\s+(\S+)\s*$/i);
  return (m && tokens.get(m[1])) ?? null;
}

export function authenticate(tokens: Config['tokens']) {
  return (req: Request, res: Response, next: NextFunction) => {
    const scopes = scopesFor(tokens, header(req.headers, 'authorization'));
    if (!scopes) {
      res
        .status(401)
        .set('WWW-Authenticate', 'Bearer')
        .json({ errors: [{ message: 'a valid bearer token is required', extensions: { code: 'UNAUTHENTICATED' } }] });
      return;
    }
    res.locals.scopes = scopes;
    next();
  };
}

const header = (h: IncomingHttpHeaders, name: string) => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};
