/** The one canonical JSON form, for cache keys and identities. */
import { badParams } from './errors.js';

/**
 * JSON with object keys sorted at every depth and undefined members dropped, so equal values
 * always give equal strings (cache keys). Non-finite numbers have no JSON form and are refused.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value));
}

function canonicalize(value: unknown): unknown {
  if (value === null) return null;
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : canonicalize(v)));
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) throw badParams(`cannot put ${value} in canonical JSON`);
      return Object.is(value, -0) ? 0 : value;
    case 'string':
    case 'boolean':
      return value;
    case 'bigint':
      return Number(value);
    case 'object': {
      const obj = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(obj).sort()) {
        if (obj[key] !== undefined) out[key] = canonicalize(obj[key]);
      }
      return out;
    }
    default:
      throw badParams(`cannot put a ${typeof value} in canonical JSON`);
  }
}
