/**
 * Parameter validation against an analyzer's ParamSpec[] (cache keys use common/canonicalJson.ts).
 * Validation both checks and normalizes: defaults are filled in and values the
 * CLI passes as strings ("64", "true", "a,b") are converted, so `--param batchSize=64` and
 * `{"batchSize": 64}` give the same canonical params, hence the same cache key.
 */
import { badParams } from '../common/errors.js';
import type { ParamSpec, ParamValues } from './types.js';

type Value = NonNullable<ParamValues[string]>;

const describe = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? `[${v.map(describe).join(', ')}]` : String(v));

function toNumber(spec: ParamSpec, raw: unknown, what = `param ${spec.name}`): number {
  let v = raw;
  if (typeof v === 'string' && v.trim() !== '') v = Number(v.trim());
  if (typeof v !== 'number' || !Number.isFinite(v)) throw badParams(`${what} must be a number, got ${describe(raw)}`, { param: spec.name });
  if (spec.type === 'int' || spec.type === 'intList') {
    if (!Number.isInteger(v)) throw badParams(`${what} must be an integer, got ${describe(raw)}`, { param: spec.name });
  }
  if (spec.min !== undefined && v < spec.min) throw badParams(`${what} must be >= ${spec.min}, got ${v}`, { param: spec.name });
  if (spec.max !== undefined && v > spec.max) throw badParams(`${what} must be <= ${spec.max}, got ${v}`, { param: spec.name });
  return v;
}

function toList(spec: ParamSpec, raw: unknown): unknown[] {
  if (Array.isArray(raw)) return raw;
  if (typeof raw === 'string') return raw.trim() === '' ? [] : raw.split(',').map((s) => s.trim());
  throw badParams(`param ${spec.name} must be a list, got ${describe(raw)}`, { param: spec.name });
}

function coerce(spec: ParamSpec, raw: unknown): Value {
  switch (spec.type) {
    case 'int':
    case 'float':
      return toNumber(spec, raw);
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      // Strings as a command line writes them: true/false, 1/0, yes/no, on/off.
      if (typeof raw === 'string' && /^(true|1|yes|on)$/i.test(raw.trim())) return true;
      if (typeof raw === 'string' && /^(false|0|no|off)$/i.test(raw.trim())) return false;
      throw badParams(`param ${spec.name} must be true or false, got ${describe(raw)}`, { param: spec.name });
    case 'string':
      if (typeof raw !== 'string') throw badParams(`param ${spec.name} must be a string, got ${describe(raw)}`, { param: spec.name });
      return raw;
    case 'enum': {
      const choices = spec.choices ?? [];
      if (typeof raw !== 'string' || !choices.includes(raw)) {
        throw badParams(`param ${spec.name} must be one of ${choices.join(', ')}; got ${describe(raw)}`, { param: spec.name, choices });
      }
      return raw;
    }
    case 'intList':
    case 'floatList':
      return toList(spec, raw).map((v, i) => toNumber(spec, v, `param ${spec.name}[${i}]`));
    case 'stringList':
      return toList(spec, raw).map((v, i) => {
        if (typeof v !== 'string') throw badParams(`param ${spec.name}[${i}] must be a string, got ${describe(v)}`, { param: spec.name });
        return v;
      });
  }
}

/**
 * Checks raw params (a JSON object; null/undefined mean none) against the specs and returns
 * them with defaults filled in. Unknown keys, wrong types, out-of-range numbers and
 * unlisted enum values are BAD_PARAMS naming the param. A null value means "use the default".
 */
export function validateParams(specs: ParamSpec[], raw: unknown): ParamValues {
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw badParams(`params must be a JSON object, got ${Array.isArray(raw) ? 'an array' : typeof raw}`);
  const known = new Map(specs.map((s) => [s.name, s]));
  const input = raw as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!known.has(key)) {
      throw badParams(`unknown param ${key}; known: ${specs.map((s) => s.name).join(', ') || 'none'}`, { param: key, known: [...known.keys()] });
    }
  }
  const out: ParamValues = {};
  for (const spec of specs) {
    const value = input[spec.name];
    if (value === undefined || value === null) {
      if (spec.default !== undefined) out[spec.name] = Array.isArray(spec.default) ? [...spec.default] as Value : spec.default;
      continue;
    }
    out[spec.name] = coerce(spec, value);
  }
  return out;
}
