/**
 * The AnalysisResult union: one member per analyzer with a typed result. Members are the
 * `*.result.js` files beside this one, found at start-up, so adding an analyzer's result type
 * is one new file here (see README.md).
 */
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createUnionType, type ClassType } from 'type-graphql';
import { resultTypes } from './registry.js';

let loaded: Promise<void> | undefined;

/** Imports every result type file once (they register themselves). Call before building the schema. */
export function loadResultTypes(): Promise<void> {
  loaded ??= (async () => {
    const dir = new URL('./', import.meta.url);
    const files = (await readdir(fileURLToPath(dir))).filter((f) => f.endsWith('.result.js')).sort();
    for (const f of files) await import(new URL(f, dir).href);
  })();
  return loaded;
}

export const AnalysisResultUnion = createUnionType({
  name: 'AnalysisResult',
  description: "An analysis's result as a typed object, one member per analyzer (null for analyzers without one: use resultJson).",
  types: () => {
    const types = resultTypes();
    if (types.length === 0) throw new Error('no result types loaded: call loadResultTypes() before buildSchema');
    return types as [ClassType, ...ClassType[]];
  },
});
