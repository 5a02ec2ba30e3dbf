/**
 * Which GraphQL object type each analyzer's result has. A result type file registers itself
 * with defineResultType; analyzers without one are still served, through Analysis.resultJson.
 */
import type { ClassType } from 'type-graphql';
import { addSharedResultFields } from './shared.js';

const byAnalyzer = new Map<string, ClassType>();

/**
 * Declares cls (an @ObjectType class; its class name is the GraphQL type name) as the result
 * type of analyzer, and gives it the fields every result shares (shared.ts: warnings, inputCheck). Returns cls, so a file can `export default defineResultType(...)`.
 */
export function defineResultType<T extends object>(analyzer: string, cls: ClassType<T>): ClassType<T> {
  const existing = byAnalyzer.get(analyzer);
  if (existing && existing !== cls) throw new Error(`analyzer ${analyzer} already has result type ${existing.name}`);
  addSharedResultFields(cls);
  byAnalyzer.set(analyzer, cls);
  return cls;
}

export function resultTypes(): ClassType[] {
  return [...new Set(byAnalyzer.values())];
}

export function resultTypeName(analyzer: string): string | null {
  return byAnalyzer.get(analyzer)?.name ?? null;
}

/** The result as an instance of its type (the AnalysisResult union resolves members by class), or null. */
export function typedResult(analyzer: string, json: unknown): object | null {
  const cls = byAnalyzer.get(analyzer);
  if (!cls || json === null || typeof json !== 'object') return null;
  return Object.assign(new cls(), json);
}
