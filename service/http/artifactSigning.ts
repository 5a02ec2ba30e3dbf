/**
 * Signed artifact URLs: a browser opens `<img src>` and pasted links without a bearer header, so
 * with tokens configured an artifact URL carries `exp` (unix seconds) and `sig`, an HMAC-SHA256
 * of the path and the expiry under a key only this process knows. The token itself never goes
 * into a URL (URLs end up in logs and browser history); a signature expires and opens one file.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** How long a signed URL opens its artifact. */
export const SIGNED_URL_TTL_SECONDS = 15 * 60;

// Per process: a restart invalidates outstanding links, which short-lived links may.
const KEY = randomBytes(32);

const signature = (path: string, exp: number) => createHmac('sha256', KEY).update(`${path}\n${exp}`).digest('base64url');

/** `path?exp=…&sig=…`, valid for ttlSeconds from nowMs. */
export function signPath(path: string, nowMs = Date.now(), ttlSeconds = SIGNED_URL_TTL_SECONDS): string {
  const exp = Math.floor(nowMs / 1000) + ttlSeconds;
  return `${path}?exp=${exp}&sig=${signature(path, exp)}`;
}

/** Whether exp/sig (query values) sign this path and have not expired. */
export function verifySignedPath(path: string, exp: unknown, sig: unknown, nowMs = Date.now()): boolean {
  if (typeof exp !== 'string' || typeof sig !== 'string' || !/^\d{1,12}$/.test(exp)) return false;
  const expiry = Number(exp);
  if (expiry * 1000 < nowMs) return false;
  const want = Buffer.from(signature(path, expiry));
  const got = Buffer.from(sig);
  return got.length === want.length && timingSafeEqual(got, want);
}
