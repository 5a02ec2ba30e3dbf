/**
 * datasets/: .npy bytes written out by hand here (not by our writer), npz round trips, the
 * real MNIST CSV parsed independently, PNG image folders made with pngjs, conformDataset
 * against the real models, and every malformed input mapped to its error code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { PNG } from 'pngjs';
import { zipSync, strToU8 } from 'fflate';
import { loadDataset, conformDataset, readNpy, writeNpy, writeNpz, loadNpz } from '../datasets/index.js';
import { resizeBilinear } from '../datasets/resize.js';
import { loadModel } from '../native/onnx/load.js';
import { AppError, type ErrorCode } from '../common/errors.js';
import { readTestData, testData } from './helpers/test-data.js';

const model = (p: string) => loadModel(readTestData(p));
const csvBytes = () => readTestData('eran/mnist_test.csv');

const isCode = (code: ErrorCode, pattern?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof AppError, `expected AppError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  if (pattern) assert.match(e.message, pattern);
  return true;
};

/** A .npy file assembled byte by byte, as numpy.save lays it out (v1.0, header padded to 64). */
function npyBytes(descr: string, shape: string, fortran: boolean, body: number[]): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shape}, }`;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  return Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8, ...Array.from(header, (c) => c.charCodeAt(0)), ...body]);
}

test('npy: hand-made fixtures in several dtypes, byte orders and Fortran order', () => {
  // <f4 (2, 2): 1.5, -2, 0.25, 1e3 little-endian
  const f4 = readNpy(npyBytes('<f4', '(2, 2)', false, [0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0, 0, 0, 0x80, 0x3e, 0, 0, 0x7a, 0x44]));
  assert.deepEqual(f4.shape, [2, 2]);
  assert.deepEqual(Array.from(f4.data), [1.5, -2, 0.25, 1000]);
  // >i4 (3,): 1, -1, 258 big-endian
  const i4 = readNpy(npyBytes('>i4', '(3,)', false, [0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 1, 2]));
  assert.deepEqual(Array.from(i4.data), [1, -1, 258]);
  // |u1 (2, 3) and |b1 (2,)
  assert.deepEqual(Array.from(readNpy(npyBytes('|u1', '(2, 3)', false, [0, 1, 2, 253, 254, 255])).data), [0, 1, 2, 253, 254, 255]);
  assert.deepEqual(Array.from(readNpy(npyBytes('|b1', '(2,)', false, [1, 0])).data), [1, 0]);
  // <i8 (2,): 7, -3
  const i8 = readNpy(npyBytes('<i8', '(2,)', false, [7, 0, 0, 0, 0, 0, 0, 0, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
  assert.deepEqual(Array.from(i8.data), [7, -3]);
  // <f8 (2, 3) in Fortran order: memory holds columns [1,4],[2,5],[3,6] of [[1,2,3],[4,5,6]].
  const col = [1, 4, 2, 5, 3, 6].flatMap((v) => Array.from(new Uint8Array(Float64Array.of(v).buffer)));
  const f8 = readNpy(npyBytes('<f8', '(2, 3)', true, col));
  assert.deepEqual(f8.shape, [2, 3]);
  assert.deepEqual(Array.from(f8.data), [1, 2, 3, 4, 5, 6]);
  // <f2 (2,): 1.0 = 0x3c00, -0.5 = 0xb800
  assert.deepEqual(Array.from(readNpy(npyBytes('<f2', '(2,)', false, [0x00, 0x3c, 0x00, 0xb8])).data), [1, -0.5]);
  // A scalar: shape ()
  assert.deepEqual(readNpy(npyBytes('<f4', '()', false, [0, 0, 0x80, 0x3f])).shape, []);
});

test('npy writer matches the hand layout and reads back', () => {
  const mine = writeNpy({ dtype: 'f4', shape: [2, 2], data: Float32Array.of(1.5, -2, 0.25, 1000) });
  const hand = npyBytes('<f4', '(2, 2)', false, [0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0, 0, 0, 0x80, 0x3e, 0, 0, 0x7a, 0x44]);
  assert.deepEqual(Array.from(mine), Array.from(hand));
  assert.equal(mine.length % 16, 0);
  const ints = readNpy(writeNpy({ dtype: 'i8', shape: [3], data: [5, -1, 9] }));
  assert.equal(ints.dtype, 'i8');
  assert.deepEqual(Array.from(ints.data), [5, -1, 9]);
});

test('npz: writer -> loader round trip, stored and deflated', () => {
  const n = 5;
  const x = Float32Array.from({ length: n * 6 }, (_, i) => i / 7);
  for (const compress of [false, true]) {
    const bytes = writeNpz({ x: { dtype: 'f4', shape: [n, 2, 3], data: x }, y: { dtype: 'i8', shape: [n], data: [0, 1, 2, 1, 0] } }, { compress });
    const d = loadNpz(bytes, 'sha');
    assert.equal(d.format, 'npz');
    assert.equal(d.count, n);
    assert.deepEqual(d.sampleShape, [2, 3]);
    assert.deepEqual(Array.from(d.x), Array.from(x));
    assert.ok(d.y instanceof Int32Array);
    assert.deepEqual(Array.from(d.y!), [0, 1, 2, 1, 0]);
    assert.deepEqual(d.yShape, []);
  }
  // float64 x is converted to float32, float y are regression targets, y is optional
  const reg = loadNpz(writeNpz({ x: { dtype: 'f8', shape: [2, 1], data: Float64Array.of(0.1, 0.2) }, y: { dtype: 'f4', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) } }), 's');
  assert.ok(reg.x instanceof Float32Array);
  assert.equal(reg.x[0], Math.fround(0.1));
  assert.ok(reg.y instanceof Float32Array);
  assert.deepEqual(reg.yShape, [2]);
  const unlabelled = loadNpz(writeNpz({ x: { dtype: 'u1', shape: [1, 3], data: Uint8Array.of(0, 128, 255) } }), 's');
  assert.equal(unlabelled.y, null);
  assert.deepEqual(Array.from(unlabelled.x), [0, 128, 255], 'integer x keeps its values (no implicit scaling)');
});

test('csv: the real MNIST file, checked against a plain split of its lines', () => {
  const d = loadDataset(csvBytes(), 'csv', 'sha', { preprocessing: { scale: 1 / 255 } });
  const lines = fs.readFileSync(testData('eran/mnist_test.csv'), 'utf8').trim().split('\n');
  assert.equal(d.count, lines.length);
  assert.equal(d.count, 100);
  assert.deepEqual(d.sampleShape, [784]);
  assert.ok(d.y instanceof Int32Array);
  for (const i of [0, 17, 99]) {
    const f = lines[i]!.split(',').map(Number);
    assert.equal(d.y![i], f[0]);
    for (const j of [0, 300, 406, 783]) assert.equal(d.x[i * 784 + j], Math.fround(f[j + 1]! / 255));
  }
});

test('csv: header detection, named classes, targets, separators', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const withHeader = loadDataset(enc('label,a,b\n1,0.5,2\n0,1,3\n'), 'csv', 's');
  assert.equal(withHeader.count, 2);
  assert.deepEqual(Array.from(withHeader.x), [0.5, 2, 1, 3]);
  const named = loadDataset(enc('dog;1;2\ncat;3;4\n\ndog;5;6\n'), 'csv', 's');
  assert.deepEqual(named.classes, ['cat', 'dog']);
  assert.deepEqual(Array.from(named.y!), [1, 0, 1]);
  const targets = loadDataset(enc('0.5\t1\n1.5\t2\n'), 'csv', 's');
  assert.ok(targets.y instanceof Float32Array);
  assert.deepEqual(Array.from(targets.y!), [0.5, 1.5]);
  const noLabels = loadDataset(enc('1,2,3\n'), 'csv', 's', { labels: false });
  assert.equal(noLabels.y, null);
  assert.deepEqual(noLabels.sampleShape, [3]);
});

function png(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): Uint8Array {
  const p = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      const o = (y * width + x) * 4;
      p.data[o] = r;
      p.data[o + 1] = g;
      p.data[o + 2] = b;
      p.data[o + 3] = 255;
    }
  }
  return new Uint8Array(PNG.sync.write(p));
}

test('image folders: classes from folder names, gray detection, scaling and mean/std', () => {
  const gray = (v: number) => png(4, 4, () => [v, v, v]);
  const zip = zipSync({
    'pets/dog/a.png': gray(255),
    'pets/cat/b.png': gray(0),
    'pets/cat/c.png': gray(51),
    'pets/readme.txt': strToU8('ignored'),
    '__MACOSX/pets/cat/._b.png': strToU8('junk'),
  });
  const d = loadDataset(zip, 'imagefolder', 's');
  assert.deepEqual(d.classes, ['cat', 'dog']);
  assert.deepEqual(d.sampleShape, [1, 4, 4]);
  // sorted paths: cat/b, cat/c, dog/a
  assert.deepEqual(Array.from(d.y!), [0, 0, 1]);
  assert.equal(d.x[0], 0);
  assert.equal(d.x[16], Math.fround(0.2));
  assert.equal(d.x[32], 1);
  const norm = loadDataset(zip, 'imagefolder', 's', { preprocessing: { scale: 1 / 255, mean: [0.5], std: [0.25], resize: { size: [2, 2], mode: 'bilinear' } } });
  assert.deepEqual(norm.sampleShape, [1, 2, 2]);
  assert.equal(norm.x[8], 2); // (1 - 0.5) / 0.25
  assert.equal(norm.x[0], -2);

  const rgb = loadDataset(zipSync({ 'a/x.png': png(2, 2, (x) => [x * 255, 0, 10]) }), 'imagefolder', 's', { preprocessing: { scale: 1 } });
  assert.deepEqual(rgb.sampleShape, [3, 2, 2]);
  assert.deepEqual(Array.from(rgb.x), [0, 255, 0, 255, 0, 0, 0, 0, 10, 10, 10, 10]);
});

test('bilinear resize uses half-pixel centres', () => {
  assert.deepEqual(Array.from(resizeBilinear(Float32Array.of(0, 1), 1, 1, 2, 1, 4)), [0, 0.25, 0.75, 1]);
  assert.deepEqual(Array.from(resizeBilinear(Float32Array.of(0, 1, 2, 3), 1, 2, 2, 1, 1)), [1.5]);
});

test('conformDataset: unchanged, reshaped (and says so), images adapted, mismatches name both shapes', () => {
  const csv = loadDataset(csvBytes(), 'csv', 's');
  const mnist = model('onnxruntime/mnist.onnx');
  const r = conformDataset(csv, mnist);
  assert.equal(r.reshapedInput, true);
  assert.deepEqual(r.sampleShape, [1, 28, 28]);
  assert.deepEqual(r.originalSampleShape, [784]);
  assert.equal(r.x, csv.x, 'a reshape shares the values');
  const again = conformDataset(r, mnist);
  assert.equal(again.reshapedInput, true, 'conforming twice keeps the flag');
  assert.deepEqual(again.originalSampleShape, [784]);

  const fc = conformDataset(csv, model('vnncomp2021/mnistfc/mnist-net_256x2.onnx'));
  assert.deepEqual(fc.sampleShape, [784, 1]);

  const npz = loadNpz(writeNpz({ x: { dtype: 'f4', shape: [2, 1, 28, 28], data: new Float32Array(2 * 784) }, y: { dtype: 'i4', shape: [2], data: Int32Array.of(1, 2) } }), 's');
  const same = conformDataset(npz, mnist);
  assert.equal(same.reshapedInput, false);
  assert.deepEqual(same.sampleShape, [1, 28, 28]);

  const small = { ...csv, sampleShape: [783], x: csv.x.subarray(0, 783 * 100) };
  assert.throws(() => conformDataset(small, mnist), (e: unknown) => {
    isCode('DATASET_MISMATCH')(e);
    const m = (e as AppError).message;
    assert.match(m, /\[783\]/);
    assert.match(m, /\[1,1,28,28\]/);
    assert.match(m, /"Input3"/);
    return true;
  });

  const images = loadDataset(zipSync({ 'seven/a.png': png(8, 8, (x, y) => [x * 30, y * 30, 0]) }), 'imagefolder', 's');
  assert.deepEqual(images.sampleShape, [3, 8, 8]);
  const fitted = conformDataset(images, mnist);
  assert.deepEqual(fitted.sampleShape, [1, 28, 28]);
  assert.equal(fitted.x.length, 784);
  assert.match(fitted.adapted ?? '', /resized 8x8 -> 28x28; 3 -> 1 channels/);
});

test('malformed datasets are BAD_DATASET with a reason; oversized ones TOO_LARGE', () => {
  const good = npyBytes('<f4', '(1, 1)', false, [0, 0, 0x80, 0x3f]);
  assert.throws(() => readNpy(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)), isCode('BAD_DATASET', /bad magic/));
  assert.throws(() => readNpy(good.subarray(0, good.length - 1), 'x'), isCode('BAD_DATASET', /x: holds 3 data bytes/));
  assert.throws(() => readNpy(npyBytes('|O', '(1,)', false, [0, 0, 0, 0, 0, 0, 0, 0])), isCode('BAD_DATASET', /unsupported dtype '\|O'/));
  assert.throws(() => readNpy(npyBytes('<f4', '(1, -2)', false, [])), isCode('BAD_DATASET', /bad shape/));
  assert.throws(() => loadNpz(zipSync({ 'a.npy': good }), 's'), isCode('BAD_DATASET', /no array "x" \(found: a\)/));
  assert.throws(
    () => loadNpz(writeNpz({ x: { dtype: 'f4', shape: [2, 1], data: Float32Array.of(1, 2) }, y: { dtype: 'i4', shape: [3], data: Int32Array.of(0, 1, 2) } }), 's'),
    isCode('BAD_DATASET', /x has 2 samples but y has shape \(3\)/),
  );
  assert.throws(() => loadDataset(new TextEncoder().encode('PK\x03\x04garbage'), 'npz', 's'), isCode('BAD_DATASET', /zip/));
  assert.throws(() => loadDataset(new Uint8Array(0), 'csv', 's'), isCode('BAD_DATASET', /empty/));
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.throws(() => loadDataset(enc('1,2,3\n0,1\n'), 'csv', 's'), isCode('BAD_DATASET', /line 2: 2 fields, expected 3/));
  assert.throws(() => loadDataset(enc('1,2,3\n0,1,x\n'), 'csv', 's'), isCode('BAD_DATASET', /line 2, column 3: "x" is not a number/));
  assert.throws(() => loadDataset(Uint8Array.of(0xff, 0xfe, 0x31), 'csv', 's'), isCode('BAD_DATASET', /UTF-8/));
  assert.throws(() => loadDataset(zipSync({ 'cat/a.jpg': Uint8Array.of(1) }), 'imagefolder', 's'), isCode('BAD_DATASET', /only PNG.*cat\/a\.jpg/));
  assert.throws(() => loadDataset(zipSync({ 'cat/a.png': Uint8Array.of(1, 2, 3) }), 'imagefolder', 's'), isCode('BAD_DATASET', /cat\/a\.png: not a readable PNG/));
  assert.throws(() => loadDataset(zipSync({ 'a.png': png(1, 1, () => [0, 0, 0]) }), 'imagefolder', 's'), isCode('BAD_DATASET', /not inside a class folder/));

  const big = writeNpz({ x: { dtype: 'f4', shape: [100, 10], data: new Float32Array(1000) } }, { compress: true });
  assert.throws(() => loadNpz(big, 's', { maxValues: 999 }), isCode('TOO_LARGE', /element count is 1000; the limit is 999/));
  assert.throws(() => loadNpz(big, 's', { maxUncompressedBytes: 1000 }), isCode('TOO_LARGE', /uncompressed size/));
  assert.throws(() => loadNpz(big, 's', { maxSamples: 10 }), isCode('TOO_LARGE', /sample count is 100/));
  assert.throws(() => loadDataset(csvBytes(), 'csv', 's', { maxSamples: 99 }), isCode('TOO_LARGE'));
});
