/** Signed artifact URLs: valid until their expiry, for their own path only, refused when altered. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SIGNED_URL_TTL_SECONDS, signPath, verifySignedPath } from '../service/http/artifactSigning.js';

const parse = (url: string) => {
  const [path, query] = url.split('?') as [string, string];
  const q = new URLSearchParams(query);
  return { path, exp: q.get('exp')!, sig: q.get('sig')! };
};

describe('artifact URL signing', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  const { path, exp, sig } = parse(signPath('/artifacts/a/density.svg', now));

  it('expires TTL seconds after signing (exp checked against the clock given)', () => {
    assert.equal(Number(exp), now / 1000 + SIGNED_URL_TTL_SECONDS);
    assert.equal(verifySignedPath(path, exp, sig, now), true);
    assert.equal(verifySignedPath(path, exp, sig, now + SIGNED_URL_TTL_SECONDS * 1000), true);
    assert.equal(verifySignedPath(path, exp, sig, now + SIGNED_URL_TTL_SECONDS * 1000 + 1000), false);
  });

  it('opens only its own path, and not with a later expiry or another signature', () => {
    assert.equal(verifySignedPath('/artifacts/a/other.svg', exp, sig, now), false);
    assert.equal(verifySignedPath(path, String(Number(exp) + 3600), sig, now), false);
    assert.equal(verifySignedPath(path, exp, sig.slice(0, -1), now), false);
    assert.equal(verifySignedPath(path, exp, undefined, now), false);
    assert.equal(verifySignedPath(path, 'soon', sig, now), false);
  });
});
