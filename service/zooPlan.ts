/**
 * Planning a zoo run: which items (model, analyzer, role) a run spec asks for, and the seed
 * partners landscape and CKA are measured between.
 */
import type { Hyperparameters, ZooItemRecord, ZooMemberRecord, ZooRunSpec } from '../storage/zoos.js';

/** The analysis request an item stands for. */
export function requestOf(it: ZooItemRecord) {
  return { modelId: it.modelId, datasetId: it.datasetId, analyzer: it.analyzer, params: it.params };
}

const SEED_KEYS = new Set(['seed', 'Seed', 'SEED', 'random_seed', 'randomSeed']);

export function seedOf(hp: Hyperparameters): number | string | null {
  for (const k of Object.keys(hp)) if (SEED_KEYS.has(k)) return hp[k]!;
  return null;
}

/**
 * Seed partners (Yang et al.: mc and CKA are measured between two models trained with the same
 * hyperparameters from different seeds). Models with equal hyperparameters except the seed are
 * sorted by seed and paired (0,1), (2,3), ...; an odd one out pairs with the first.
 */
export function seedPairs(members: ZooMemberRecord[]): Array<[string, string]> {
  const groups = new Map<string, ZooMemberRecord[]>();
  for (const m of members) {
    const rest = Object.fromEntries(Object.entries(m.hyperparameters).filter(([k]) => !SEED_KEYS.has(k)).sort(([a], [b]) => a.localeCompare(b)));
    const key = JSON.stringify(rest);
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  const pairs: Array<[string, string]> = [];
  for (const g of groups.values()) {
    const sorted = [...g].sort((a, b) => compare(seedOf(a.hyperparameters), seedOf(b.hyperparameters)) || a.position - b.position);
    for (let i = 0; i + 1 < sorted.length; i += 2) pairs.push([sorted[i]!.modelId, sorted[i + 1]!.modelId]);
    if (sorted.length % 2 === 1 && sorted.length > 1) pairs.push([sorted.at(-1)!.modelId, sorted[0]!.modelId]);
  }
  return pairs.filter(([a, b]) => a !== b);
}

export function partnerMap(members: ZooMemberRecord[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [a, b] of seedPairs(members)) {
    if (!out.has(a)) out.set(a, b);
    if (!out.has(b)) out.set(b, a);
  }
  return out;
}

const compare = (a: number | string | null, b: number | string | null) =>
  typeof a === 'number' && typeof b === 'number' ? a - b : String(a ?? '').localeCompare(String(b ?? ''));

/** One item per model and analyzer (evaluate twice with a test set; landscape once per seed pair). */
export function planItems(members: ZooMemberRecord[], spec: ZooRunSpec): Array<Omit<ZooItemRecord, 'runId' | 'analysisId' | 'cacheKey' | 'cached' | 'status' | 'error'>> {
  const items: Array<Omit<ZooItemRecord, 'runId' | 'analysisId' | 'cacheKey' | 'cached' | 'status' | 'error'>> = [];
  const push = (modelId: string, analyzer: string, role: string, datasetId: string | null, params: Record<string, unknown>) =>
    items.push({ seq: items.length, modelId, analyzer, role, datasetId, params });
  const pairs = seedPairs(members);
  for (const analyzer of spec.analyzers) {
    const params = spec.params[analyzer] ?? {};
    if (analyzer === 'landscape') {
      for (const [a, b] of pairs) push(a, analyzer, `pair:${b}`, spec.datasetId, { surface: 'none', ...params, otherModel: b });
      continue;
    }
    for (const m of members) {
      push(m.modelId, analyzer, 'train', spec.datasetId, params);
      if (analyzer === 'evaluate' && spec.testDatasetId) push(m.modelId, analyzer, 'test', spec.testDatasetId, params);
    }
  }
  return items;
}
