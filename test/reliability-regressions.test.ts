/**
 * Regression tests for the defects the reliability fuzz found (docs/RELIABILITY.md, "Defects
 * found and fixed"): each input below used to end as INTERNAL (or allocate gigabytes first).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../common/errors.js';
import { loadModel, MAX_IR_VERSION, MAX_ONNX_OPSET } from '../native/onnx/load.js';
import { createSession, runSession } from '../native/runtime/session.js';
import { tensor } from '../native/onnx/tensor.js';
import { baseModelProto, encodeModel } from './reliability/fixtures.js';
import { loadCsv } from '../datasets/csv.js';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof AppError ? err.code : `not an AppError: ${(err as Error).message}`;
  }
};

test('an initializer declaring huge dims over a few bytes is BAD_MODEL before anything is allocated', () => {
  for (const dims of [[100_000, 100_000], [2 ** 31, 3], [2 ** 40, 2 ** 40]]) {
    const m = baseModelProto();
    m.graph!.initializer![0]!.dims = dims;
    const heapBefore = process.memoryUsage().arrayBuffers;
    assert.equal(code(() => loadModel(encodeModel(m))), 'BAD_MODEL', `dims [${dims}]`);
    assert.ok(process.memoryUsage().arrayBuffers - heapBefore < 64 * 1024 * 1024, 'no large buffer was allocated');
  }
  // The same through typed fields (float_data) rather than raw_data.
  const m = baseModelProto();
  const w = m.graph!.initializer![0]!;
  w.rawData = new Uint8Array(0);
  w.floatData = [1, 2, 3];
  w.dims = [2 ** 31, 3];
  assert.equal(code(() => loadModel(encodeModel(m))), 'BAD_MODEL');
});

test('IR versions and opsets outside what the runtime loads are BAD_MODEL at load; the limits themselves load', async () => {
  for (const ir of [0, -1, MAX_IR_VERSION + 1, 2 ** 40]) {
    const m = baseModelProto();
    m.irVersion = ir;
    assert.equal(code(() => loadModel(encodeModel(m))), 'BAD_MODEL', `IR ${ir}`);
  }
  for (const version of [-3, 0, MAX_ONNX_OPSET + 1, 99999]) {
    const m = baseModelProto();
    m.opsetImport = [{ domain: '', version }];
    assert.equal(code(() => loadModel(encodeModel(m))), 'BAD_MODEL', `opset ${version}`);
  }
  // The newest accepted versions are ones the runtime really creates a session for.
  const m = baseModelProto();
  m.irVersion = MAX_IR_VERSION;
  m.opsetImport = [{ domain: '', version: MAX_ONNX_OPSET }];
  const bytes = encodeModel(m);
  loadModel(bytes);
  const session = await createSession(bytes);
  await session.release();
});

async function createCode(bytes: Uint8Array): Promise<string> {
  try {
    const s = await createSession(bytes);
    await s.release();
    return 'created';
  } catch (err) {
    return err instanceof AppError ? err.code : `not an AppError: ${(err as Error).message}`;
  }
}

test('an op or domain the runtime has no kernel for is UNSUPPORTED_OP, with no runtime source path', async () => {
  const unknownOp = baseModelProto();
  unknownOp.graph!.node![1]!.opType = 'NoSuchOp';
  const unknownDomain = baseModelProto();
  unknownDomain.graph!.node![1]!.domain = 'com.evil';
  unknownDomain.opsetImport!.push({ domain: 'com.evil', version: 1 });
  for (const m of [unknownOp, unknownDomain]) {
    const bytes = encodeModel(m);
    loadModel(bytes); // well formed: only the runtime can tell
    assert.equal(await createCode(bytes), 'UNSUPPORTED_OP');
  }
  try {
    await createSession(encodeModel(unknownOp));
  } catch (err) {
    assert.doesNotMatch((err as Error).message, /onnxruntime_src/);
    assert.match((err as Error).message, /NoSuchOp/);
  }
});

test('data of the wrong dims, rank or type for a fixed input is DATASET_MISMATCH', async () => {
  const m = baseModelProto();
  m.graph!.input![0]!.type = { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }, { dimValue: 4 }] } } };
  const session = await createSession(encodeModel(m));
  try {
    const ok = await runSession(session, { x: tensor('float32', [2, 4]) });
    assert.deepEqual(ok.logits!.dims, [2, 3]);
    for (const x of [tensor('float32', [3, 4]), tensor('float32', [2, 4, 1]), tensor('float64', [2, 4])]) {
      await assert.rejects(runSession(session, { x }), (err: unknown) => err instanceof AppError && err.code === 'DATASET_MISMATCH', `x [${x.dims}] ${x.dtype}`);
    }
  } finally {
    await session.release();
  }
});

test('a model with no opset import is BAD_MODEL (the runtime refuses it; the IR would have assumed opset 1)', () => {
  const m = baseModelProto();
  m.opsetImport = [];
  assert.equal(code(() => loadModel(encodeModel(m))), 'BAD_MODEL');
});

test('an initializer with both raw_data and typed values is BAD_MODEL', () => {
  const m = baseModelProto();
  m.graph!.initializer![0]!.floatData = [1, 2, 3];
  assert.equal(code(() => loadModel(encodeModel(m))), 'BAD_MODEL');
});

test('declared dims below -1 or beyond 2^53 are BAD_MODEL; -1 (an exporter\'s "unknown") and large exact sizes load', () => {
  const withInputDim = (d: number) => {
    const m = baseModelProto();
    m.graph!.input![0]!.type = { tensorType: { elemType: 1, shape: { dim: [{ dimValue: d }, { dimValue: 4 }] } } };
    return encodeModel(m);
  };
  for (const d of [-2, -12345, 2 ** 62]) assert.equal(code(() => loadModel(withInputDim(d))), 'BAD_MODEL', `dim ${d}`);
  for (const d of [-1, 1, 2 ** 31]) assert.equal(code(() => loadModel(withInputDim(d))), undefined, `dim ${d}`);
});

test('a CSV with one 50 MB line is TOO_LARGE at once, before parsing', () => {
  const line = '0.5,'.repeat(12_500_000);
  const bytes = new TextEncoder().encode(`0,${line}1\n1,0.1,0.2\n`);
  const t0 = performance.now();
  assert.equal(code(() => loadCsv(bytes, 'x')), 'TOO_LARGE');
  assert.ok(performance.now() - t0 < 5000, 'refused without parsing');
  // Ordinary rows still load, and a line just under the limit is not refused for its length.
  assert.equal(loadCsv(new TextEncoder().encode('0,0.1,0.2\n1,0.3,0.4\n'), 'y').count, 2);
  assert.equal(code(() => loadCsv(new TextEncoder().encode(`0,${'1,'.repeat(1000)}1\n`), 'z', { maxCsvLineBytes: 1_000_000 })), undefined);
});
