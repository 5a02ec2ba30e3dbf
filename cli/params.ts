/**
 * --param key=value strings as a params object. Values stay strings: validation
 * (analyzers/params.ts) types them against the analyzer's specs, so `--param batchSize=64`
 * and `{"batchSize": 64}` give the same canonical params and the same cache key.
 */
export function parseCliParams(pairs: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}
