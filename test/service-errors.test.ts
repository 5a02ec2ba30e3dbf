/**
 * Bad input over GraphQL: each answered with its code, the service keeps serving, and nothing
 * is left behind (no new rows, no new blobs, no temp files).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import onnxProto from 'onnx-proto';
import { writeNpz } from '../datasets/npz.js';
import { MNIST_MODEL, removeDir, startTestService, type GqlResponse, type TestService } from './helpers/serviceHarness.js';

const UPLOAD_MODEL = `mutation($file: Upload!, $name: String) { uploadModel(file: $file, name: $name) { id sha256 } }`;
const UPLOAD_DATASET = `mutation($file: Upload!, $modelId: ID) { uploadDataset(file: $file, modelId: $modelId) { id } }`;
const RUN = `mutation($input: RunAnalysisInput!) { runAnalysis(input: $input) { id status } }`;
const MAX_UPLOAD = 1024 * 1024;

let svc: TestService;
let modelId: string;

before(async () => {
  svc = await startTestService({ maxUploadBytes: MAX_UPLOAD });
  const r = await svc.upload(UPLOAD_MODEL, { name: 'mnist' }, { bytes: readFileSync(MNIST_MODEL), filename: 'cnn.onnx' });
  assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
  modelId = r.body.data!.uploadModel.id;
});

after(async () => {
  await svc.stop();
  removeDir(svc.dataDir);
});

const codeOf = (r: GqlResponse) => r.body.errors?.[0]?.extensions?.code;

/** Runs a bad request and checks its error code, that nothing was stored, and that the service still answers. */
async function expectRejected(expected: string, send: () => Promise<GqlResponse>): Promise<void> {
  const before = await svc.footprint();
  const r = await send();
  assert.equal(codeOf(r), expected, JSON.stringify(r.body));
  assert.deepEqual(await svc.footprint(), before, 'nothing left behind');
  const alive = await svc.gql('{ models { id } }');
  assert.equal(alive.body.data?.models.length, 1);
}

test('a truncated ONNX file is BAD_MODEL', () =>
  expectRejected('BAD_MODEL', () => {
    const bytes = readFileSync(MNIST_MODEL);
    return svc.upload(UPLOAD_MODEL, {}, { bytes: bytes.subarray(0, Math.floor(bytes.length / 2)), filename: 'cut.onnx' });
  }));

test('random bytes are BAD_MODEL', () =>
  expectRejected('BAD_MODEL', () => svc.upload(UPLOAD_MODEL, {}, { bytes: randomBytes(4096), filename: 'noise.onnx' })));

test('a model whose tensor lives in external data is BAD_MODEL', () =>
  expectRejected('BAD_MODEL', async () => {
    const { onnx } = onnxProto;
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'external',
        node: [{ opType: 'Add', input: ['x', 'w'], output: ['y'], name: 'add' }],
        input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 4 }] } } } }],
        output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 4 }] } } } }],
        initializer: [
          {
            name: 'w',
            dataType: 1,
            dims: [4],
            dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
            externalData: [{ key: 'location', value: 'weights.bin' }, { key: 'length', value: '16' }],
          },
        ],
      },
    });
    const r = await svc.upload(UPLOAD_MODEL, {}, { bytes: onnx.ModelProto.encode(model).finish(), filename: 'external.onnx' });
    assert.match(r.body.errors![0]!.message, /external data/);
    return r;
  }));

test('a dataset of the wrong shape for the model is DATASET_MISMATCH', () =>
  expectRejected('DATASET_MISMATCH', () => {
    const npz = writeNpz({ x: { dtype: 'f4', shape: [3, 5], data: new Float32Array(15) }, y: { dtype: 'i8', shape: [3], data: new BigInt64Array(3) } });
    return svc.upload(UPLOAD_DATASET, { modelId }, { bytes: npz, filename: 'wrong.npz' });
  }));

test('running on a dataset that does not fit the model is DATASET_MISMATCH before any job is queued', async () => {
  const npz = writeNpz({ x: { dtype: 'f4', shape: [2, 7], data: new Float32Array(14) }, y: { dtype: 'i8', shape: [2], data: new BigInt64Array(2) } });
  const up = await svc.upload(UPLOAD_DATASET, {}, { bytes: npz, filename: 'seven.npz' });
  assert.equal(up.body.errors, undefined, JSON.stringify(up.body.errors));
  const datasetId = up.body.data!.uploadDataset.id;
  await expectRejected('DATASET_MISMATCH', () => svc.gql(RUN, { input: { modelId, datasetId, analyzer: 'evaluate' } }));
});

test('an unreadable dataset is BAD_DATASET', () =>
  expectRejected('BAD_DATASET', () => svc.upload(UPLOAD_DATASET, {}, { bytes: randomBytes(512), filename: 'broken.npz' })));

test('an unknown analyzer is NOT_FOUND', () =>
  expectRejected('NOT_FOUND', () => svc.gql(RUN, { input: { modelId, analyzer: 'no-such-analyzer' } })));

test('an unknown model is NOT_FOUND', () =>
  expectRejected('NOT_FOUND', () => svc.gql(RUN, { input: { modelId: 'nope', analyzer: 'test-slow' } })));

test('params out of range, of the wrong type or unknown are BAD_PARAMS', async () => {
  await expectRejected('BAD_PARAMS', () => svc.gql(RUN, { input: { modelId, analyzer: 'test-slow', params: { ms: -5 } } }));
  await expectRejected('BAD_PARAMS', () => svc.gql(RUN, { input: { modelId, analyzer: 'test-slow', params: { ms: 'soon' } } }));
  await expectRejected('BAD_PARAMS', () => svc.gql(RUN, { input: { modelId, analyzer: 'test-slow', params: { bogus: 1 } } }));
});

test('an upload over the size limit is TOO_LARGE', () =>
  expectRejected('TOO_LARGE', () => svc.upload(UPLOAD_MODEL, {}, { bytes: randomBytes(MAX_UPLOAD + 100_000), filename: 'huge.onnx' })));

test('a JSON request body over its limit is TOO_LARGE, in the GraphQL error shape', async () => {
  const res = await request(svc.url).post('/graphql').send({ query: '{ models { id } }', variables: { padding: 'x'.repeat(3 * 1024 * 1024) } });
  assert.equal(res.status, 413);
  assert.equal(res.body.errors?.[0]?.extensions?.code, 'TOO_LARGE');
});

test('a query nested deeper than the limit is refused', () =>
  expectRejected('TOO_LARGE', () =>
    svc.gql(`{ models { analyses { model { analyses { model { analyses { model { analyses { model { id } } } } } } } } } }`),
  ));

test('a multipart request without the preflight header is blocked (CSRF prevention)', async () => {
  const res = await request(svc.url)
    .post('/graphql')
    .field('operations', JSON.stringify({ query: UPLOAD_MODEL, variables: { file: null } }))
    .field('map', JSON.stringify({ 0: ['variables.file'] }))
    .attach('0', readFileSync(MNIST_MODEL), 'cnn.onnx');
  assert.equal(res.status, 400);
  assert.equal((await svc.footprint()).models, 1);
});
