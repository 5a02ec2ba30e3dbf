/**
 * datasets/preprocessing: every option of the spec against a hand computation on tiny
 * samples, the spec's own checks, the dataset identity, labels as users have them (named CSV
 * label column, quoted fields, string and one-hot npz labels, class mappings), every refusal,
 * model-declared preprocessing from ONNX metadata_props, and the input-range check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { zipSync } from 'fflate';
import type { LoadedDataset } from '../analyzers/types.js';
import { applyPreprocessing, conformDataset, datasetIdentity, loadDataset, parsePreprocessing, writeNpz } from '../datasets/index.js';
import { modelPreprocessing } from '../datasets/modelPreprocessing.js';
import { checkInputs } from '../datasets/inputCheck.js';
import { loadModel } from '../native/onnx/load.js';
import { serializeModel } from '../native/onnx/ir.js';
import { AppError, type ErrorCode } from '../common/errors.js';
import { readTestData } from './helpers/test-data.js';

const MNISTFC = 'vnncomp2021/mnistfc/mnist-net_256x2.onnx';
const enc = (s: string) => new TextEncoder().encode(s);
const f32 = (xs: number[]) => xs.map((v) => Math.fround(v));

const isCode = (code: ErrorCode, pattern?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof AppError, `expected AppError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  if (pattern) assert.match(e.message, pattern);
  return true;
};

/** A dataset of hand-written samples. */
function samples(sampleShape: number[], values: number[], count = 1): LoadedDataset {
  return { sha256: 's', format: 'npz', count, sampleShape, x: Float32Array.from(values), y: null, yShape: [] };
}

const apply = (d: LoadedDataset, spec: unknown) => applyPreprocessing(d, parsePreprocessing(spec));

test('scale, then mean and std per channel: (v * scale - mean[c]) / std[c]', () => {
  assert.deepEqual(Array.from(apply(samples([3], [0, 51, 255]), { scale: '1/255' }).x), f32([0, 0.2, 1]));
  // Two channels of 1 x 2: channel 0 = [1, 2], channel 1 = [3, 4].
  const two = apply(samples([2, 1, 2], [1, 2, 3, 4]), { mean: [1, 3], std: [2, 4] });
  assert.deepEqual(Array.from(two.x), [0, 0.5, 0, 0.25]);
  // One mean/std for every channel, after the scale: (255 / 255 - 0.5) / 0.25 = 2.
  assert.deepEqual(Array.from(apply(samples([2, 1, 1], [255, 0]), { scale: 1 / 255, mean: [0.5], std: [0.25] }).x), [2, -2]);
});

test('channel order BGR reverses the channels; mean/std are in the model (BGR) order', () => {
  const rgb = samples([3, 1, 1], [1, 2, 3]);
  assert.deepEqual(Array.from(apply(rgb, { channelOrder: 'BGR' }).x), [3, 2, 1]);
  assert.deepEqual(Array.from(apply(rgb, { channelOrder: 'bgr', mean: [10, 20, 30] }).x), [3 - 10, 2 - 20, 1 - 30]);
  assert.deepEqual(Array.from(apply(rgb, { channelOrder: 'RGB' }).x), [1, 2, 3]);
});

test('layout NHWC is transposed to CHW, and the samples are then images conform may adapt', () => {
  // H = W = 2, C = 3, stored HWC: pixel p channel c holds p * 3 + c.
  const hwc = samples([2, 2, 3], Array.from({ length: 12 }, (_, i) => i));
  const chw = apply(hwc, { layout: 'NHWC' });
  assert.deepEqual(chw.sampleShape, [3, 2, 2]);
  assert.deepEqual(Array.from(chw.x), [0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11]);
  assert.equal(chw.chwImages, true);
  // NCHW declared: values unchanged, marked as images.
  const same = apply(samples([3, 2, 2], Array.from({ length: 12 }, (_, i) => i)), { layout: 'NCHW' });
  assert.deepEqual(Array.from(same.x), Array.from({ length: 12 }, (_, i) => i));
  assert.equal(same.chwImages, true);
});

test('resize: bilinear with half-pixel centres, nearest by floor(o * in / out)', () => {
  // Bilinear 1x2 -> 1x4: source x of output o is (o + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 (clamped to [0, 1]).
  const wide = apply(samples([1, 1, 2], [0, 1]), { resize: { size: [1, 4] } });
  assert.deepEqual(wide.sampleShape, [1, 1, 4]);
  assert.deepEqual(Array.from(wide.x), [0, 0.25, 0.75, 1]);
  // Nearest 2x2 -> 4x4 of [[0, 1], [2, 3]]: rows and columns 0, 0, 1, 1.
  const near = apply(samples([2, 2], [0, 1, 2, 3]), { resize: { size: [4, 4], mode: 'nearest' } });
  assert.deepEqual(near.sampleShape, [4, 4]);
  assert.deepEqual(Array.from(near.x), [0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3]);
  // Bilinear 2x2 -> 1x1 averages all four.
  assert.deepEqual(Array.from(apply(samples([2, 2], [0, 1, 2, 3]), { resize: { size: '1x1' } }).x), [1.5]);
});

test('dtype uint8 / int8: round to nearest, clamp to the type range; float32 keeps values', () => {
  assert.deepEqual(Array.from(apply(samples([4], [-3, 2.5, 2.4, 300]), { dtype: 'uint8' }).x), [0, 3, 2, 255]);
  assert.deepEqual(Array.from(apply(samples([3], [-200, -1.6, 127.6]), { dtype: 'int8' }).x), [-128, -2, 127]);
  assert.deepEqual(Array.from(apply(samples([2], [0.5, 1.25]), { dtype: 'float32' }).x), [0.5, 1.25]);
});

test('every sample is prepared alike (two samples, all steps)', () => {
  // Two 2x1x3 HWC samples -> CHW [3, 2, 1], BGR, scale 1/2, mean 1, std 2.
  const d = samples([2, 1, 3], [2, 4, 6, 8, 10, 12, 20, 40, 60, 80, 100, 120], 2);
  const out = apply(d, { layout: 'NHWC', channelOrder: 'BGR', scale: 0.5, mean: [1], std: [2] });
  assert.deepEqual(out.sampleShape, [3, 2, 1]);
  const hand = (r: number, g: number, b: number, r2: number, g2: number, b2: number) =>
    [b, b2, g, g2, r, r2].map((v) => (v * 0.5 - 1) / 2);
  assert.deepEqual(Array.from(out.x), f32([...hand(2, 4, 6, 8, 10, 12), ...hand(20, 40, 60, 80, 100, 120)]));
});

test('the spec is checked: unknown keys, bad numbers, zero std, bad choices, steps the samples cannot take', () => {
  assert.equal(parsePreprocessing({ scale: '1/255' }).scale, 1 / 255);
  assert.deepEqual(parsePreprocessing({ mean: '0.485, 0.456,0.406' }).mean, [0.485, 0.456, 0.406]);
  assert.deepEqual(parsePreprocessing({ resize: { size: [2, 3] } }).resize, { size: [2, 3], mode: 'bilinear' });
  assert.throws(() => parsePreprocessing({ scael: 1 }), isCode('BAD_PARAMS', /unknown key scael/));
  assert.throws(() => parsePreprocessing({ scale: '1/x' }), isCode('BAD_PARAMS', /preprocessing\.scale: expected a finite number/));
  assert.throws(() => parsePreprocessing({ std: [1, 0] }), isCode('BAD_PARAMS', /std.*non-zero/));
  assert.throws(() => parsePreprocessing({ layout: 'CHW' }), isCode('BAD_PARAMS', /layout: expected one of NCHW, NHWC/));
  assert.throws(() => parsePreprocessing({ resize: { size: [0, 2] } }), isCode('BAD_PARAMS', /resize\.size\[0\]/));
  assert.throws(() => parsePreprocessing({ expectedRange: [1, 0] }), isCode('BAD_PARAMS', /min < max/));
  assert.throws(() => parsePreprocessing({ classes: ['a', 'a'] }), isCode('BAD_PARAMS', /"a" is listed twice/));
  assert.throws(() => apply(samples([3, 1, 1], [1, 2, 3]), { mean: [1, 2] }), isCode('BAD_DATASET', /mean has 2 values but the samples have 3 channels/));
  assert.throws(() => apply(samples([1, 1, 1], [1]), { channelOrder: 'BGR' }), isCode('BAD_DATASET', /BGR needs 3 channels/));
  assert.throws(() => apply(samples([4], [1, 2, 3, 4]), { layout: 'NHWC' }), isCode('BAD_DATASET', /needs rank-3 samples/));
  assert.throws(() => apply(samples([4], [1, 2, 3, 4]), { resize: { size: [2, 2] } }), isCode('BAD_DATASET', /resize needs image samples/));
});

test('the preprocessing is part of the dataset identity; none keeps the file hash', () => {
  const file = 'a'.repeat(64);
  assert.equal(datasetIdentity(file, {}), file);
  assert.equal(datasetIdentity(file, null), file);
  const scaled = datasetIdentity(file, parsePreprocessing({ scale: '1/255' }));
  assert.match(scaled, /^[0-9a-f]{64}$/);
  assert.notEqual(scaled, file);
  assert.notEqual(scaled, datasetIdentity(file, parsePreprocessing({ scale: 1 / 256 })));
  assert.equal(
    datasetIdentity(file, parsePreprocessing({ mean: [0.5], scale: 0.5 })),
    datasetIdentity(file, parsePreprocessing({ scale: 0.5, mean: [0.5] })),
    'key order does not matter',
  );
});

test('npz: raw uint8 images take the spec; NaN and Inf are refused naming the first bad index', () => {
  const npz = writeNpz({ x: { dtype: 'u1', shape: [2, 1, 1, 2], data: Uint8Array.of(0, 255, 51, 102) }, y: { dtype: 'i4', shape: [2], data: Int32Array.of(0, 1) } });
  const d = loadDataset(npz, 'npz', 's', { preprocessing: parsePreprocessing({ scale: '1/255', mean: [0.5], std: [0.5] }) });
  assert.equal(d.sourceDtype, 'uint8');
  assert.deepEqual(d.rawRange, [0, 255]);
  assert.deepEqual(Array.from(d.x), f32([-1, 1, (0.2 - 0.5) / 0.5, (0.4 - 0.5) / 0.5]));
  assert.deepEqual(d.preprocessing?.source, 'dataset');

  const nan = writeNpz({ x: { dtype: 'f4', shape: [2, 3], data: Float32Array.of(0, 1, 2, 3, 4, NaN) } });
  assert.throws(() => loadDataset(nan, 'npz', 's'), isCode('BAD_DATASET', /x\[5\] is NaN \(sample 1, element 2\)/));
  const inf = writeNpz({ x: { dtype: 'f8', shape: [2, 2], data: Float64Array.of(0, -Infinity, 2, 3) } });
  assert.throws(() => loadDataset(inf, 'npz', 's'), isCode('BAD_DATASET', /x\[1\] is -Infinity \(sample 0, element 1\)/));
  const badY = writeNpz({ x: { dtype: 'f4', shape: [2, 1], data: Float32Array.of(0, 1) }, y: { dtype: 'f4', shape: [2], data: Float32Array.of(1, Infinity) } });
  assert.throws(() => loadDataset(badY, 'npz', 's'), isCode('BAD_DATASET', /y\[1\] is Infinity/));
  assert.throws(() => loadDataset(enc('0,1\n1,NaN\n'), 'csv', 's'), isCode('BAD_DATASET', /line 2, column 2: "NaN" is not a number/));
});

test('npz labels: integer one-hot mapped to indices, other integer rows refused; string labels sorted or in the given order', () => {
  const x = { dtype: 'f4' as const, shape: [3, 1], data: Float32Array.of(0, 1, 2) };
  const hot = loadDataset(writeNpz({ x, y: { dtype: 'i4', shape: [3, 3], data: Int32Array.of(0, 1, 0, 1, 0, 0, 0, 0, 1) } }), 'npz', 's');
  assert.deepEqual(Array.from(hot.y!), [1, 0, 2]);
  assert.deepEqual(hot.yShape, []);
  assert.match(hot.labelNote ?? '', /one-hot y \(3, 3\) mapped to class indices/);
  assert.throws(
    () => loadDataset(writeNpz({ x, y: { dtype: 'i4', shape: [3, 2], data: Int32Array.of(0, 1, 1, 1, 0, 1) } }), 'npz', 's'),
    isCode('BAD_DATASET', /y\[1\] is not one-hot/),
  );
  const names = writeNpz({ x, y: { dtype: 'U', shape: [3], data: ['dog', 'cat', 'dög'] } });
  const sorted = loadDataset(names, 'npz', 's');
  assert.deepEqual(sorted.classes, ['cat', 'dog', 'dög']);
  assert.deepEqual(Array.from(sorted.y!), [1, 0, 2]);
  const given = loadDataset(names, 'npz', 's', { preprocessing: parsePreprocessing({ classes: ['dög', 'dog', 'cat'] }) });
  assert.deepEqual(Array.from(given.y!), [1, 2, 0]);
  assert.throws(() => loadDataset(names, 'npz', 's', { preprocessing: parsePreprocessing({ classes: ['cat', 'dog'] }) }), isCode('BAD_DATASET', /y\[2\]: class "dög" is not in the given classes/));
  // A float y of shape (N, K) stays regression targets (mse).
  const targets = loadDataset(writeNpz({ x, y: { dtype: 'f4', shape: [3, 2], data: Float32Array.of(0, 1, 1, 0, 0, 1) } }), 'npz', 's');
  assert.ok(targets.y instanceof Float32Array);
  assert.deepEqual(targets.yShape, [2]);
});

test('CSV: a header with a named label column anywhere, quoted fields, label names in the given order', () => {
  const text = 'a,b,"kind, of animal"\n0.5,2,"cat, big"\n1,3,dog\n';
  const d = loadDataset(enc(text), 'csv', 's', { preprocessing: parsePreprocessing({ labelColumn: 'kind, of animal', scale: 2 }) });
  assert.deepEqual(d.sampleShape, [2]);
  assert.deepEqual(Array.from(d.x), [1, 4, 2, 6]);
  assert.deepEqual(d.classes, ['cat, big', 'dog']);
  assert.deepEqual(Array.from(d.y!), [0, 1]);
  const mapped = loadDataset(enc(text), 'csv', 's', { preprocessing: parsePreprocessing({ labelColumn: 'kind, of animal', classes: ['dog', 'cat, big'] }) });
  assert.deepEqual(Array.from(mapped.y!), [1, 0]);
  const numeric = loadDataset(enc('x1,label,x2\n1,7,2\n3,4,5\n'), 'csv', 's', { preprocessing: parsePreprocessing({ labelColumn: 'label' }) });
  assert.deepEqual(Array.from(numeric.x), [1, 2, 3, 5]);
  assert.deepEqual(Array.from(numeric.y!), [7, 4]);
  assert.throws(() => loadDataset(enc(text), 'csv', 's', { preprocessing: parsePreprocessing({ labelColumn: 'species' }) }), isCode('BAD_DATASET', /no column "species".*columns: a, b, kind, of animal/));
  assert.throws(() => loadDataset(enc('1,"2\n'), 'csv', 's'), isCode('BAD_DATASET', /does not parse/));
  assert.throws(() => loadDataset(enc('cat,1\n2,1\n'), 'csv', 's'), isCode('BAD_DATASET', /line 1: label "cat" mixes with numeric labels/));
});

function png(v: number): Uint8Array {
  const p = new PNG({ width: 2, height: 2 });
  for (let i = 0; i < 4; i++) p.data.set([v, v, v, 255], i * 4);
  return new Uint8Array(PNG.sync.write(p));
}

test('image folders: 0..255 pixels scaled by default, a spec replaces the default, classes mapped as given', () => {
  const zip = zipSync({ 'dog/a.png': png(255), 'cat/b.png': png(51) });
  const byDefault = loadDataset(zip, 'imagefolder', 's');
  assert.equal(byDefault.preprocessing?.source, 'image-folder default');
  assert.deepEqual(Array.from(byDefault.x.subarray(0, 4)), f32([0.2, 0.2, 0.2, 0.2]));
  assert.deepEqual(byDefault.classes, ['cat', 'dog']);
  const raw = loadDataset(zip, 'imagefolder', 's', { preprocessing: parsePreprocessing({ scale: 1, resize: { size: [1, 1], mode: 'nearest' } }) });
  assert.deepEqual(raw.sampleShape, [1, 1, 1]);
  assert.deepEqual(Array.from(raw.x), [51, 255]);
  const mapped = loadDataset(zip, 'imagefolder', 's', { preprocessing: parsePreprocessing({ classes: ['dog', 'cat'] }) });
  assert.deepEqual(mapped.classes, ['dog', 'cat']);
  assert.equal(mapped.labelNote, 'class folder names mapped to indices in the given order');
  assert.equal(byDefault.labelNote, 'class folder names mapped to indices in sorted order');
  assert.deepEqual(Array.from(mapped.y!), [1, 0], 'cat/b.png sorts first and is class 1');
  assert.equal(mapped.preprocessing?.source, 'image-folder default', 'label options alone keep the default scaling');
  assert.throws(() => loadDataset(zip, 'imagefolder', 's', { preprocessing: parsePreprocessing({ classes: ['dog'] }) }), isCode('BAD_DATASET', /cat\/b\.png: class "cat" is not in the given classes \[dog\]/));
  assert.throws(() => loadDataset(zip, 'imagefolder', 's', { preprocessing: parsePreprocessing({ labelColumn: 'x' }) }), isCode('BAD_DATASET', /labelColumn applies to CSV/));
});

test('labels outside the model classes are BAD_DATASET naming the first', () => {
  const model = loadModel(readTestData(MNISTFC));
  const d = { ...samples([784], new Array<number>(3 * 784).fill(0.5), 3), y: Int32Array.of(9, 10, 3) };
  assert.throws(() => conformDataset(d, model), isCode('BAD_DATASET', /label y\[1\] = 10 is not a class index in 0\.\.9/));
  assert.throws(() => conformDataset({ ...d, y: Int32Array.of(0, -1, 0) }, model), isCode('BAD_DATASET', /y\[1\] = -1/));
  assert.equal(conformDataset({ ...d, y: Int32Array.of(9, 0, 3) }, model).count, 3);
});

/** mnistfc with metadata_props, through protobuf. */
function withMetadata(metadata: Record<string, string>) {
  const m = loadModel(readTestData(MNISTFC));
  return loadModel(serializeModel({ ...m, metadata }));
}

test('model metadata: onnxscope.preprocessing applies when the dataset has no value steps; onnxscope.input_range is the expected range', () => {
  const model = withMetadata({ 'onnxscope.preprocessing': '{"scale": "1/255"}', 'onnxscope.input_range': '0,1' });
  const declared = modelPreprocessing(model);
  assert.deepEqual(declared, { scale: 1 / 255, expectedRange: [0, 1] });
  const csv = readTestData('eran/mnist_test.csv');
  const byModel = loadDataset(csv, 'csv', 's', { modelPreprocessing: declared });
  assert.equal(byModel.preprocessing?.source, 'model');
  assert.equal(byModel.x[202], Math.fround(Number(new TextDecoder().decode(csv).split('\n')[0]!.split(',')[203]) / 255));
  const own = loadDataset(csv, 'csv', 's', { preprocessing: { scale: 1 }, modelPreprocessing: declared });
  assert.equal(own.preprocessing?.source, 'dataset', "the dataset's own spec wins");
  assert.equal(modelPreprocessing(loadModel(readTestData(MNISTFC))), null);
  assert.throws(() => modelPreprocessing(withMetadata({ 'onnxscope.preprocessing': '{scale' })), isCode('BAD_MODEL', /not JSON/));
  assert.throws(() => modelPreprocessing(withMetadata({ 'onnxscope.input_range': '1' })), isCode('BAD_MODEL', /input_range/));
});

test('input check: far out of range warns with both ranges; declared ranges also catch data scaled twice; constant samples counted', () => {
  const plain = loadModel(readTestData(MNISTFC));
  const raw = samples([2], [0, 255, 3, 4], 2);
  const far = checkInputs(raw, plain, {});
  assert.equal(far.inputCheck.observedMin, 0);
  assert.equal(far.inputCheck.observedMax, 255);
  assert.deepEqual([far.inputCheck.expectedMin, far.inputCheck.expectedMax], [-1, 1]);
  assert.equal(far.warnings.length, 1);
  assert.match(far.warnings[0]!, /input values span \[0, 255\] but the model expects about \[-1, 1\].*255 times/);
  // 9.9 times the default magnitude is not "far".
  assert.deepEqual(checkInputs(samples([2], [0, 9.9]), plain, {}).warnings, []);

  const declared = withMetadata({ 'onnxscope.input_range': '0,255' });
  const twice = checkInputs(samples([2], [0, 1 / 255]), declared, {});
  assert.match(twice.warnings[0]!, /span \[0, 0\.003922\] but the model expects about \[0, 255\] \(from the model metadata.*1\/650\d\d of the expected magnitude.*scaled twice/);
  assert.deepEqual(checkInputs(samples([2], [0, 200]), declared, {}).warnings, []);
  const param = checkInputs(samples([2], [0, 200]), declared, { inputRange: [0, 1] });
  assert.equal(param.inputCheck.expectedFrom, 'the inputRange param');
  assert.equal(param.warnings.length, 1);
  const user = checkInputs({ ...samples([2], [0, 0.5]), preprocessing: { source: 'dataset', spec: { expectedRange: [0, 255] } } }, plain, {});
  assert.equal(user.inputCheck.expectedFrom, 'the dataset preprocessing expectedRange');
  assert.match(user.warnings[0]!, /scaled twice/);

  const blank = checkInputs(samples([3], [0.5, 0.5, 0.5, 0, 1, 0, 0.25, 0.25, 0.25], 3), plain, {});
  assert.equal(blank.inputCheck.constantSamples, 2);
  assert.match(blank.warnings[0]!, /2 of 3 samples are constant.*first: sample 0, value 0\.5/);
});
