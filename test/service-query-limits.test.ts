/**
 * GraphQL cost limits beside the depth limit, through the real HTTP server: aliases, fields with
 * fragments expanded where spread, list sizes in the query and in the variables, batched
 * operations, and the same rule over WebSocket. Each refusal is HTTP 400 with QUERY_TOO_COMPLEX.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { WebSocket } from 'ws';
import { createClient } from 'graphql-ws';
import { serviceForSuite, type GqlResponse } from './helpers/serviceHarness.js';

// The defaults: 500 fields, 30 aliases, 10,000 list items.
const suite = serviceForSuite();

function assertTooComplex(r: GqlResponse, message: RegExp): void {
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.equal(r.body.errors?.length, 1, JSON.stringify(r.body));
  assert.equal(r.body.errors![0]!.extensions?.code, 'QUERY_TOO_COMPLEX', JSON.stringify(r.body));
  assert.match(r.body.errors![0]!.message, message);
  assert.equal(r.body.data, undefined);
}

test('1,000 aliases of a field are refused; 30 pass', async () => {
  const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: models { id }`).join(' ')} }`;
  assertTooComplex(await suite.svc.gql(aliases(1000)), /the operation uses more than 30 aliases \(ONNXSCOPE_MAX_QUERY_ALIASES\)/);
  assertTooComplex(await suite.svc.gql(aliases(31)), /uses more than 30 aliases/);
  const ok = await suite.svc.gql(aliases(30));
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.deepEqual(ok.body.data!.a29, []);
});

test('fields are counted with fragments expanded where spread: 500 pass, 501 and a 1,001-field fan-out are refused', async () => {
  const fragments = `
    fragment M on Model { id name sha256 sizeBytes createdAt }
    fragment M2 on Model { ${'...M '.repeat(10)} }`;
  const fanOut = `${fragments} fragment M3 on Model { ${'...M2 '.repeat(10)} }`;
  // models (1) + 9 x M2 (9 x 50) + 9 x M (9 x 5) + 4 fields = 500.
  const atLimit = `query { models { ${'...M2 '.repeat(9)} ${'...M '.repeat(9)} id name sha256 sizeBytes } } ${fragments}`;
  const ok = await suite.svc.gql(atLimit);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.errors, undefined);
  assertTooComplex(await suite.svc.gql(atLimit.replace('sizeBytes } }', 'sizeBytes createdAt } }')), /the operation selects more than 500 fields, fragments counted where spread \(ONNXSCOPE_MAX_QUERY_FIELDS\)/);
  // 1 + 2 x 10 x 10 x 5 = 1,001 fields in a 300-byte query.
  assertTooComplex(await suite.svc.gql(`query Fan { models { ...M3 ...M3 } } ${fanOut}`), /operation Fan selects more than 500 fields/);
});

test('lists: more than 10,000 items in the query or in the variables are refused, 10,000 pass the check', async () => {
  const indices = (n: number) => Array.from({ length: n }, (_, i) => i);
  const literal = (n: number) => `mutation { runAnalysis(input: { modelId: "none", analyzer: "weights", params: { indices: [${indices(n).join(',')}] } }) { id } }`;
  assertTooComplex(await suite.svc.gql(literal(10_001)), /a list in the query has 10001 items; the limit is 10000 \(ONNXSCOPE_MAX_LIST_ITEMS\)/);
  const RUN = `mutation($input: RunAnalysisInput!) { runAnalysis(input: $input) { id } }`;
  const vars = (n: number) => ({ input: { modelId: 'none', analyzer: 'weights', params: { indices: indices(n) } } });
  assertTooComplex(await suite.svc.gql(RUN, vars(10_001)), /variable \$input\.params\.indices is a list of 10001 items; the limit is 10000/);
  // At the limit the request goes on, and fails for what it is: an unknown model.
  for (const r of [await suite.svc.gql(literal(10_000)), await suite.svc.gql(RUN, vars(10_000))]) {
    assert.equal(r.body.errors?.[0]?.extensions?.code, 'NOT_FOUND', JSON.stringify(r.body).slice(0, 500));
  }
});

test('batched operations (an array body) are refused with 400', async () => {
  const res = await request(suite.svc.url).post('/graphql').send([{ query: '{ models { id } }' }, { query: '{ models { id } }' }]);
  assert.equal(res.status, 400);
  assert.match(res.text, /batching disabled/i);
});

test('over WebSocket the same limits hold', async () => {
  const client = createClient({ url: suite.svc.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, retryAttempts: 0 });
  const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: id`).join(' ');
  const errors = await new Promise<readonly { message: string; extensions?: Record<string, unknown> }[]>((resolve, reject) => {
    client.subscribe(
      { query: `subscription { analysisUpdated(id: "x") { ${aliases} } }` },
      { next: (r) => (r.errors ? resolve(r.errors) : reject(new Error('answered'))), error: (e) => resolve(e as never), complete: () => reject(new Error('completed without an error')) },
    );
  });
  await client.dispose();
  assert.ok(Array.isArray(errors), JSON.stringify(errors));
  assert.equal(errors[0]!.extensions?.code, 'QUERY_TOO_COMPLEX', JSON.stringify(errors));
  assert.match(errors[0]!.message, /uses more than 30 aliases/);
});
