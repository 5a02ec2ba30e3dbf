/** Turns --param key=value strings into typed values using the analyzer's parameter specs. */
import type { ParamSpec } from '../analyzers/types.js';
import { badParams } from '../common/errors.js';

export function parseCliParams(pairs: string[], specs: ParamSpec[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq).trim();
    const raw = pair.slice(eq + 1).trim();
    const spec = specs.find((s) => s.name === key);
    // Unknown names pass through as strings; validation names them with the known ones.
    out[key] = spec ? typed(spec, raw) : raw;
  }
  return out;
}

function typed(spec: ParamSpec, raw: string): unknown {
  const number = (s: string) => {
    const n = Number(s);
    if (s === '' || !Number.isFinite(n)) throw badParams(`param ${spec.name}: "${s}" is not a number`);
    return n;
  };
  const list = (s: string) => (s === '' ? [] : s.split(',').map((x) => x.trim()));
  switch (spec.type) {
    case 'int':
    case 'float':
      return number(raw);
    case 'bool':
      if (/^(true|1|yes|on)$/i.test(raw)) return true;
      if (/^(false|0|no|off)$/i.test(raw)) return false;
      throw badParams(`param ${spec.name}: "${raw}" is not true or false`);
    case 'intList':
    case 'floatList':
      return list(raw).map(number);
    case 'stringList':
      return list(raw);
    default:
      return raw;
  }
}
