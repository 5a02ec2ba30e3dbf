/**
 * Rule fields checked against the analyzers' GraphQL result types (schema/results), so a
 * misspelt field is refused before anything runs and the gate, the API and the docs agree
 * on what a result holds.
 */
import {
  getNamedType,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';
import type { PathSegment } from './rule.js';

export type FieldKind = 'number' | 'string' | 'boolean' | 'any';

export interface ResolvedField {
  /** The full path into the result, aliases and headline fields expanded. */
  path: PathSegment[];
  kind: FieldKind;
  /** For string fields with a fixed set of values (verdicts): those values. */
  values?: string[];
  /** A param that must ask for this field, else the analyzer leaves it out. */
  requires?: FieldRequirement;
}

/** The field exists only when `param` (a list) includes `value`, or (a scalar) equals it. */
export interface FieldRequirement {
  param: string;
  value: string | boolean;
}

/** Thrown for a field the result type lacks; the config loader adds file and line. */
export class FieldError extends Error {}

/**
 * Short names for headline metrics that sit deeper in a result, so CI rules read like the
 * papers: `coherence.mCoherence` is the real-label m-coherence, `saliency.classSensitivity`
 * the mean Spearman between top- and bottom-class maps, `weights.alpha` the mean layer alpha.
 */
const ALIASES: Record<string, Record<string, PathSegment[]>> = {
  coherence: Object.fromEntries(
    ['mCoherence', 'alpha', 'gradientDiversity', 'gsnrMean', 'gsnrMedian', 'sumGradSqNorm', 'sumOfSqNorms'].map((f) => [f, ['real', 'metrics', f]]),
  ),
  saliency: Object.fromEntries(['classSensitivity', 'deletion', 'insertion', 'randomization'].map((f) => [f, ['metrics', f]])),
  // `weights.alpha <= 6`: the model-level means (per layer: `weights.layers[i].alpha`).
  weights: Object.fromEntries(
    ['alpha', 'alphaWeighted', 'alphaMin', 'alphaMax', 'logAlphaNorm', 'logSpectralNorm', 'logNorm', 'stableRank', 'mpSoftrank', 'randDistance', 'numSpikes', 'correlationTraps', 'fittedLayers'].map((f) => [f, ['summary', f]]),
  ),
};

/**
 * When a path ends at an object, the object's headline number: `hessian.trace` is
 * trace.estimate, `hessian.topEigenvalues[0]` its value, `saliency.deletion` the mean AUC.
 */
const HEADLINE_FIELDS = ['value', 'estimate', 'mean', 'meanAuc', 'finalSpearman'];

const VERDICTS = ['holds', 'violated', 'unknown'];

/** String fields whose values are a fixed set, keyed by analyzer and path without indices. */
const FIELD_VALUES: Record<string, Record<string, string[]>> = {
  safety: { status: VERDICTS, 'checks.status': VERDICTS },
};

/** Result parts computed only when a param asks for them, keyed by their first path segments. */
const REQUIREMENTS: Record<string, Record<string, FieldRequirement>> = {
  hessian: {
    topEigenvalues: { param: 'compute', value: 'top' },
    eigenSolver: { param: 'compute', value: 'top' },
    sharpness: { param: 'compute', value: 'top' },
    trace: { param: 'compute', value: 'trace' },
    density: { param: 'compute', value: 'density' },
    perLayer: { param: 'compute', value: 'perLayer' },
    perLayerRanking: { param: 'compute', value: 'perLayer' },
  },
  saliency: Object.fromEntries(
    ['classSensitivity', 'deletion', 'insertion', 'randomization'].map((m) => [`metrics.${m}`, { param: 'metrics', value: m }]),
  ),
  coherence: { randomLabels: { param: 'randomLabelControl', value: true } },
  landscape: { surface1d: { param: 'surface', value: '1d' }, surface2d: { param: 'surface', value: '2d' } },
};

const own = <T>(table: Record<string, T> | undefined, key: string): T | undefined =>
  table && Object.hasOwn(table, key) ? table[key] : undefined;

const SCALAR_KINDS: Record<string, FieldKind> = { Int: 'number', Float: 'number', String: 'string', ID: 'string', Boolean: 'boolean' };

/**
 * Checks a path against the analyzer's result type. typeName null (an analyzer with no typed
 * result, e.g. from an extra module) accepts any path; it is then checked on the result itself.
 */
export function resolveField(schema: GraphQLSchema, analyzer: string, typeName: string | null, written: PathSegment[]): ResolvedField {
  if (!typeName) return { path: written, kind: 'any' };
  const root = schema.getType(typeName);
  if (!isObjectType(root)) throw new Error(`result type ${typeName} of ${analyzer} is not an object type`);
  const alias = typeof written[0] === 'string' && !root.getFields()[written[0]] ? own(ALIASES[analyzer], written[0]) : undefined;
  const path = alias ? [...alias, ...written.slice(1)] : [...written];

  let type: GraphQLOutputType = root;
  let where = analyzer;
  for (const seg of path) {
    if (isNonNullType(type)) type = type.ofType;
    if (typeof seg === 'number') {
      if (!isListType(type)) throw new FieldError(`${where} is not a list, so [${seg}] cannot index it`);
      type = type.ofType;
      where = `${where}[${seg}]`;
      continue;
    }
    if (typeof seg === 'object') {
      const selector = formatPath([seg]);
      if (!isListType(type)) throw new FieldError(`${where} is not a list, so ${selector} cannot select in it`);
      const element = getNamedType(type.ofType);
      const key = isObjectType(element) ? element.getFields()[seg.field] : undefined;
      const keyType = key ? getNamedType(key.type) : undefined;
      if (!keyType || !isScalarType(keyType) || own(SCALAR_KINDS, keyType.name) !== 'string') {
        throw new FieldError(`${where} has no string field "${seg.field}" to select by${isObjectType(element) ? `; fields: ${Object.keys(element.getFields()).join(', ')}` : ''}`);
      }
      type = type.ofType;
      where = `${where}${selector}`;
      continue;
    }
    if (isListType(type)) throw new FieldError(`${where} is a list: pick one element with [i] before .${seg}`);
    if (!isObjectType(type)) throw new FieldError(`${where} is a ${getNamedType(type).name}, it has no field ${seg}`);
    const field = type.getFields()[seg];
    if (!field) throw new FieldError(`${where} has no field "${seg}"; fields: ${fieldNames(type.getFields(), analyzer, where === analyzer)}`);
    type = field.type;
    where = `${where}.${seg}`;
  }
  if (isNonNullType(type)) type = type.ofType;
  if (isListType(type)) throw new FieldError(`${where} is a list: compare one element, e.g. ${stripAnalyzer(where, analyzer)}[0]`);
  if (isObjectType(type)) {
    const fields = type.getFields();
    const headline = HEADLINE_FIELDS.find((f) => fields[f]);
    if (!headline) throw new FieldError(`${where} is an object: compare one of its fields (${Object.keys(fields).join(', ')})`);
    path.push(headline);
    type = getNamedType(fields[headline]!.type);
  }
  const named = getNamedType(type);
  const kind: FieldKind = isEnumType(named) ? 'string' : isScalarType(named) ? own(SCALAR_KINDS, named.name) ?? 'any' : 'any';
  const names = path.filter((p): p is string => typeof p === 'string');
  const values = own(FIELD_VALUES[analyzer], names.join('.'));
  const requires = own(REQUIREMENTS[analyzer], names.slice(0, 2).join('.')) ?? own(REQUIREMENTS[analyzer], names[0]!);
  return { path, kind, ...(values ? { values } : {}), ...(requires ? { requires } : {}) };
}

function fieldNames(fields: Record<string, unknown>, analyzer: string, atRoot: boolean): string {
  const names = Object.keys(fields);
  if (atRoot && Object.hasOwn(ALIASES, analyzer)) names.push(...Object.keys(ALIASES[analyzer]!).map((a) => `${a} (alias)`));
  return names.join(', ');
}

const stripAnalyzer = (where: string, analyzer: string) => where.slice(analyzer.length + 1);

/** The value at path in a result (negative indices count from the end); undefined when absent. */
export function valueAt(result: unknown, path: PathSegment[]): unknown {
  let v: unknown = result;
  for (const seg of path) {
    if (v === null || v === undefined) return undefined;
    if (typeof seg === 'number') {
      if (!Array.isArray(v)) return undefined;
      v = v[seg < 0 ? v.length + seg : seg];
    } else if (typeof seg === 'object') {
      if (!Array.isArray(v)) return undefined;
      v = v.find((e: unknown) => e !== null && typeof e === 'object' && (e as Record<string, unknown>)[seg.field] === seg.equals);
    } else {
      if (typeof v !== 'object' || Array.isArray(v)) return undefined;
      v = (v as Record<string, unknown>)[seg];
    }
  }
  return v;
}

/** A path as people write it: real.metrics.mCoherence, topEigenvalues[0].value, layers[name=fc1.weight].alpha. */
export function formatPath(path: PathSegment[]): string {
  const selector = (s: { field: string; equals: string }) => `[${s.field}=${/^[^\]\s"']+$/.test(s.equals) ? s.equals : JSON.stringify(s.equals)}]`;
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : typeof s === 'object' ? selector(s) : i === 0 ? s : `.${s}`)).join('');
}
