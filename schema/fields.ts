/**
 * GraphQL object types from a field table typed against the TypeScript interface they serve, so
 * the interface stays the one source: `objectType<GradientsResult>('GradientsResult', '…', { … })`
 * does not compile when the table lacks a field of the interface (or has one it lacks), or when
 * a field's GraphQL type cannot hold the interface's value (a nullable value in a non-null
 * field, a string in a Float). A field deliberately left to `resultJson` is written `jsonOnly`.
 * test/schema-fields.test.ts checks the same against the type-graphql metadata at run time.
 */
import { Field, Float, Int, ObjectType, type ClassType } from 'type-graphql';
import { JSONScalar } from './scalars.js';

type Nullable = boolean | 'items' | 'itemsAndList';

/**
 * One GraphQL field able to hold values of type V. `accepts` is never set: it makes FieldSpec
 * contravariant in V, so FieldSpec<string> fits an interface field typed 'a' | 'b' but
 * FieldSpec<number> does not fit number | null.
 */
export interface FieldSpec<V> {
  readonly type: () => unknown;
  readonly nullable?: Nullable;
  readonly description?: string;
  readonly accepts?: (value: V) => void;
}

/** Marks an interface field that has no GraphQL field (reachable through Analysis.resultJson). */
export const jsonOnly = Object.freeze({ jsonOnly: true as const });
type JsonOnly = typeof jsonOnly;

type OptionalKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? K : never }[keyof T];

/** A field table for interface T: every key of T, each with a field that can hold its value. */
export type Fields<T> = { [K in keyof T]-?: FieldSpec<K extends OptionalKeys<T> ? T[K] | undefined : T[K]> | JsonOnly };

const leaf = <V>(type: () => unknown) => (description?: string): FieldSpec<V> => ({ type, description });

export const float = leaf<number>(() => Float);
export const int = leaf<number>(() => Int);
export const str = leaf<string>(() => String);
export const bool = leaf<boolean>(() => Boolean);
export const json = leaf<unknown>(() => JSONScalar);

/** A list of item; `nullItems` lets entries be null (GraphQL `[Float]` rather than `[Float!]`). */
export function list<V>(item: FieldSpec<V>, description?: string, nullItems?: false): FieldSpec<readonly V[]>;
export function list<V>(item: FieldSpec<V>, description: string | undefined, nullItems: true): FieldSpec<readonly (V | null)[]>;
export function list<V>(item: FieldSpec<V>, description?: string, nullItems = false): FieldSpec<readonly V[]> {
  return { type: () => [item.type()], description, nullable: nullItems ? 'items' : undefined };
}

/** A field of object type cls (a class from objectType, or any @ObjectType class). */
export function obj<V extends object>(cls: ClassType<V> | (() => ClassType<V>), description?: string): FieldSpec<V> {
  const thunk = (cls.prototype === undefined ? cls : () => cls) as () => ClassType<V>;
  return { type: thunk, description };
}

/** spec, but null (or absent) allowed; a list whose entries may be null becomes `itemsAndList`. */
export function nullable<V>(spec: FieldSpec<V>, description = spec.description): FieldSpec<V | null | undefined> {
  return { ...spec, description, nullable: spec.nullable === 'items' ? 'itemsAndList' : true } as FieldSpec<V | null | undefined>;
}

/** Declares every field of the table on cls (a class decorated with @ObjectType or @InputType). */
export function declareFields<T>(cls: ClassType, fields: Fields<T>): void {
  for (const [key, spec] of Object.entries(fields) as [string, FieldSpec<unknown> | JsonOnly][]) {
    if ('jsonOnly' in spec) continue;
    Field(spec.type as () => typeof Float, { nullable: spec.nullable, description: spec.description })(cls.prototype as object, key);
  }
}

/**
 * A GraphQL object type named name (also the class's name) with the fields of the table. Extra
 * lists fields the GraphQL type has beyond T (e.g. ones a resolver fills in).
 */
export function objectType<T extends object, Extra extends object = object>(name: string, description: string | undefined, fields: Fields<T> & Fields<Extra>): ClassType<T & Extra> {
  const cls = { [name]: class {} }[name]!;
  declareFields<T & Extra>(cls, fields as Fields<T & Extra>);
  ObjectType(name, description === undefined ? {} : { description })(cls);
  return cls as ClassType<T & Extra>;
}
