import { createHash } from 'node:crypto';

export interface CacheKeyParts {
  modelSha256: string;
  datasetSha256: string | null;
  analyzer: string;
  analyzerVersion: number;
  /** Canonical JSON of the params with defaults filled in and keys sorted. */
  canonicalParams: string;
}

/**
 * The results-cache key (DESIGN.md): model hash + dataset hash + analyzer name + version +
 * canonical params, hashed so that the key has a fixed length. A field separator that cannot
 * occur in hashes or names keeps distinct parts from running together.
 */
export function cacheKey(p: CacheKeyParts): string {
  return createHash('sha256')
    .update([p.modelSha256, p.datasetSha256 ?? '-', p.analyzer, String(p.analyzerVersion), p.canonicalParams].join('\u0000'))
    .digest('hex');
}
