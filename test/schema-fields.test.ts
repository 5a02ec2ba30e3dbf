/**
 * One source per result type: schema/fields.ts builds each GraphQL result class from a table
 * typed against the analyzer's interface. The `@ts-expect-error` lines below are the compile
 * half (the build fails if a table that drifts from its interface ever compiles); the tests are
 * the run-time half: a real analyzer's JSON has a GraphQL field for every key, nested objects
 * included, and the fields found missing when the tables came in (TraceResult.hvps,
 * EvaluateResult.output/labelLayout) are served.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getNamedType, isListType, isNonNullType, isObjectType, type GraphQLObjectType, type GraphQLOutputType } from 'graphql';
import { buildGraphQLSchema } from '../resolvers/index.js';
import { bool, float, int, jsonOnly, list, nullable, objectType, str } from '../schema/fields.js';
import { validateParams } from '../analyzers/params.js';
import { weightsAnalyzer, type WeightsParams } from '../analyzers/weights/index.js';
import { tensor } from '../native/onnx/tensor.js';
import { Rng } from '../common/random.js';
import { tinyModel, loaded } from './helpers/tiny-models.js';
import { int as intAttr } from '../native/onnx/ir.js';

interface Probe {
  a: number;
  b: string | null;
  c?: number;
  d: 'x' | 'y';
  e: number[];
}

// Compile half: each of these drifts from Probe and must not compile.
// @ts-expect-error b is missing
objectType<Probe>('ProbeMissing', undefined, { a: float(), c: nullable(int()), d: str(), e: list(int()) });
// @ts-expect-error b may be null but its field is non-null
objectType<Probe>('ProbeNonNull', undefined, { a: float(), b: str(), c: nullable(int()), d: str(), e: list(int()) });
// @ts-expect-error c may be absent but its field is non-null
objectType<Probe>('ProbeOptional', undefined, { a: float(), b: nullable(str()), c: int(), d: str(), e: list(int()) });
// @ts-expect-error a is a number, not a String
objectType<Probe>('ProbeWrongType', undefined, { a: str(), b: nullable(str()), c: nullable(int()), d: str(), e: list(int()) });
// @ts-expect-error f is no field of Probe
objectType<Probe>('ProbeExtra', undefined, { a: float(), b: nullable(str()), c: nullable(int()), d: str(), e: list(int()), f: bool() });
// @ts-expect-error e holds numbers, not strings
objectType<Probe>('ProbeWrongItems', undefined, { a: float(), b: nullable(str()), c: nullable(int()), d: str(), e: list(str()) });

test('a field table that matches its interface yields the GraphQL type it describes', () => {
  const cls = objectType<Probe>('ProbeOk', 'A probe.', { a: float('an a'), b: nullable(str()), c: jsonOnly, d: str(), e: list(int(), undefined, true) });
  assert.equal(cls.name, 'ProbeOk');
  assert.ok(new cls() instanceof cls);
});

/** Keys of value that have no field in type, recursing into nested objects and lists of them. */
function missingFields(value: unknown, type: GraphQLOutputType, where: string): string[] {
  if (isNonNullType(type)) return missingFields(value, type.ofType as GraphQLOutputType, where);
  if (isListType(type)) return Array.isArray(value) ? value.flatMap((v, i) => missingFields(v, type.ofType as GraphQLOutputType, `${where}[${i}]`)) : [];
  if (!isObjectType(type) || value === null || typeof value !== 'object') return [];
  const fields = type.getFields();
  return Object.entries(value).flatMap(([k, v]) => (fields[k] ? missingFields(v, fields[k]!.type, `${where}.${k}`) : [`${where}.${k}`]));
}

test('every key of a real analyzer result has a GraphQL field (weights on a two-layer model)', async () => {
  const schema = await buildGraphQLSchema();
  const rng = new Rng(3);
  const w = (dims: number[]) => tensor('float32', dims, Array.from({ length: dims[0]! * dims[1]! }, () => rng.normal()));
  const model = tinyModel({
    input: { name: 'x', shape: [1, 8] },
    output: { name: 'y', shape: [1, 4] },
    nodes: [
      { op: 'Gemm', inputs: ['x', 'w1'], outputs: ['h'], attrs: { transB: intAttr(1) } },
      { op: 'Gemm', inputs: ['h', 'w2'], outputs: ['y'], attrs: { transB: intAttr(1) } },
    ],
    initializers: { w1: w([6, 8]), w2: w([4, 6]) },
  });
  const result = await weightsAnalyzer.run({
    model: loaded(model),
    dataset: null,
    params: validateParams(weightsAnalyzer.params, { minEigenvalues: 2, minTail: 2 }) as WeightsParams,
    progress: () => {},
    signal: new AbortController().signal,
  });
  assert.equal(result.layers.length, 2, 'both layers analyzed (else the walk checks nothing nested)');
  const type = schema.getType('WeightsResult');
  assert.ok(type && isObjectType(type));
  const json = JSON.parse(JSON.stringify(result)) as object;
  assert.deepEqual(missingFields(json, type, 'weights'), []);
  // The walk does report a key without a field.
  assert.deepEqual(missingFields({ ...json, layers: [{ ...(json as { layers: object[] }).layers[0], extra: 1 }] }, type, 'weights'), ['weights.layers[0].extra']);
});

test('fields the analyzers report but the GraphQL types lacked are served now', async () => {
  const schema = await buildGraphQLSchema();
  const field = (typeName: string, name: string) => (schema.getType(typeName) as GraphQLObjectType).getFields()[name];
  assert.equal(getNamedType(field('HessianTrace', 'hvps')!.type).name, 'Int');
  assert.equal(getNamedType(field('EvaluateResult', 'output')!.type).name, 'String');
  assert.equal(getNamedType(field('EvaluateResult', 'labelLayout')!.type).name, 'String');
});
