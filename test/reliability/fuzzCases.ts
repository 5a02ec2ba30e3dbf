/**
 * Malformed inputs, by class, each made from a seeded Rng (common/random.ts) so a failing case
 * can be made again from its class and index. Every case is meant to be refused; a case the
 * service accepts is followed up (an analysis runs on it) and reported as accepted, and only
 * INTERNAL, a crash or a hang counts as a failure.
 */
import { zipSync, deflateSync } from 'fflate';
import { Rng } from '../../common/random.js';
import { writeNpy } from '../../datasets/npy.js';
import { writeNpz } from '../../datasets/npz.js';
import { CLASSES, FEATURES, baseModelBytes, baseModelProto, baseNpz, encodeModel, npyWithHeader, type ModelProto } from './fixtures.js';

export type FuzzInput =
  | { kind: 'model'; bytes: Uint8Array; filename: string }
  | { kind: 'dataset'; bytes: Uint8Array; filename: string }
  | { kind: 'params'; analyzer: string; params: Record<string, unknown>; withDataset: boolean };

export interface FuzzClass {
  name: string;
  /** What the class sends, in a few words (the report's table). */
  what: string;
  make(rng: Rng, i: number): FuzzInput;
}

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)]!;
const randomBytes = (rng: Rng, n: number) => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(256);
  return out;
};
const model = (m: ModelProto, filename = 'fuzz.onnx'): FuzzInput => ({ kind: 'model', bytes: encodeModel(m), filename });
const dataset = (bytes: Uint8Array, filename: string): FuzzInput => ({ kind: 'dataset', bytes, filename });
const graph = (m: ModelProto) => m.graph!;
const text = (s: string) => new TextEncoder().encode(s);

const BASE = baseModelBytes();

const onnxClasses: FuzzClass[] = [
  {
    name: 'onnx-truncated',
    what: 'a valid model cut at a random byte',
    make: (rng) => ({ kind: 'model', bytes: BASE.slice(0, 1 + rng.int(BASE.length - 1)), filename: 'cut.onnx' }),
  },
  {
    name: 'onnx-random',
    what: 'random bytes (1 B - 8 KiB), some behind a protobuf-looking prefix',
    make: (rng) => {
      const bytes = randomBytes(rng, 1 + rng.int(8192));
      if (rng.next() < 0.5) bytes.set([0x08, 0x08, 0x3a], 0);
      return { kind: 'model', bytes, filename: 'noise.onnx' };
    },
  },
  {
    name: 'onnx-bitflip',
    what: 'a valid model with 1-8 random bytes overwritten',
    make: (rng) => {
      const bytes = BASE.slice();
      for (let k = 1 + rng.int(8); k > 0; k--) bytes[rng.int(bytes.length)] = rng.int(256);
      return { kind: 'model', bytes, filename: 'flipped.onnx' };
    },
  },
  {
    name: 'onnx-tensor-bytes',
    what: 'initializers whose raw/typed data disagree with dims or dtype',
    make: (rng) => {
      const m = baseModelProto();
      const w = graph(m).initializer![0]!;
      switch (rng.int(6)) {
        case 0: w.rawData = randomBytes(rng, rng.int(48)); break; // short
        case 1: w.rawData = randomBytes(rng, 49 + rng.int(200)); break; // long
        case 2: w.rawData = new Uint8Array(0); w.floatData = Array.from({ length: rng.int(11) }, () => rng.normal()); break;
        case 3: w.dataType = pick(rng, [0, 8, 16, 17, 99, -1, 2147483647]); break; // undefined / string / odd dtypes
        case 4: w.dataType = 7; break; // int64 over 48 bytes = 6 values for 12 dims
        default: w.rawData = randomBytes(rng, 48); w.floatData = [1, 2, 3]; break; // both
      }
      return model(m);
    },
  },
  {
    name: 'onnx-huge-dims',
    what: 'declared dims of 1e9..2^62, negative, or an op that expands to 1e10+ elements',
    make: (rng) => {
      const m = baseModelProto();
      const g = graph(m);
      const huge = pick(rng, [1e9, 2 ** 31, 2 ** 40, 2 ** 53, 2 ** 62, -1, -12345]);
      switch (rng.int(4)) {
        case 0: g.initializer![0]!.dims = [huge, CLASSES]; break;
        case 1: g.input![0]!.type = { tensorType: { elemType: 1, shape: { dim: [{ dimValue: huge }, { dimValue: FEATURES }] } } }; break;
        case 2: g.initializer![1]!.dims = [huge, huge]; break;
        default: {
          // A tiny graph that asks ONNX Runtime for 1e10+ elements when run (ConstantOfShape).
          const shape = new BigInt64Array([BigInt(1e5 + rng.int(1e5)), BigInt(1e5 + rng.int(1e5))]);
          g.initializer!.push({ name: 'bigShape', dataType: 7, dims: [2], rawData: new Uint8Array(shape.buffer) });
          g.node!.push({ opType: 'ConstantOfShape', input: ['bigShape'], output: ['big'], name: 'expand' });
          g.output!.push({ name: 'big', type: { tensorType: { elemType: 1 } } });
        }
      }
      return model(m);
    },
  },
  {
    name: 'onnx-cycle',
    what: 'graphs whose nodes feed each other (2-5 node cycles, self loops)',
    make: (rng) => {
      const m = baseModelProto();
      const g = graph(m);
      const len = 1 + rng.int(5);
      const nodes = Array.from({ length: len }, (_, k) => ({
        opType: pick(rng, ['Relu', 'Neg', 'Identity', 'Abs']),
        input: [`c${(k + len - 1) % len}`],
        output: [`c${k}`],
        name: `cyc${k}`,
      }));
      // Feed the cycle from the real graph so it is reachable from the output.
      g.node![1] = { opType: 'Add', input: ['h', `c${len - 1}`], output: ['logits'], name: 'add' };
      g.node!.push(...nodes);
      return model(m);
    },
  },
  {
    name: 'onnx-unknown-op',
    what: 'an unknown op, an unknown domain, or an opset from the future',
    make: (rng) => {
      const m = baseModelProto();
      const g = graph(m);
      switch (rng.int(3)) {
        case 0: g.node![1]!.opType = `NoSuchOp${rng.int(1000)}`; break;
        case 1: g.node![1]!.domain = pick(rng, ['com.evil', 'ai.onnx.ml.bogus', 'x'.repeat(300)]); m.opsetImport!.push({ domain: g.node![1]!.domain, version: 1 }); break;
        default: m.opsetImport = [{ domain: '', version: pick(rng, [0, 99, 99999, -3, 2 ** 40]) }];
      }
      return model(m);
    },
  },
  {
    name: 'onnx-external-data',
    what: 'initializers pointing outside the blob store (../../etc/passwd, absolute paths, URLs)',
    make: (rng) => {
      const m = baseModelProto();
      const w = graph(m).initializer![rng.int(2)]!;
      w.rawData = new Uint8Array(0);
      w.dataLocation = rng.next() < 0.8 ? 1 : 0;
      const location = pick(rng, ['../../etc/passwd', '/etc/passwd', '../../../../../../proc/self/environ', '..\\..\\windows\\win.ini', '%2e%2e/%2e%2e/etc/passwd', 'file:///etc/shadow', 'http://169.254.169.254/latest', '', 'weights.bin', 'a/../../../b']);
      w.externalData = [{ key: 'location', value: location }];
      if (rng.next() < 0.5) w.externalData.push({ key: 'offset', value: String(pick(rng, [0, -1, 2 ** 53, 1e300])) }, { key: 'length', value: String(pick(rng, [48, -48, 2 ** 62])) });
      return model(m);
    },
  },
  {
    name: 'onnx-graph-structure',
    what: 'dangling inputs, outputs nothing produces, empty graphs, duplicate names, odd IR versions',
    make: (rng) => {
      const m = baseModelProto();
      const g = graph(m);
      switch (rng.int(7)) {
        case 0: g.node![0]!.input = ['x', 'nowhere']; break;
        case 1: g.output = [{ name: 'nothing', type: { tensorType: { elemType: 1 } } }]; break;
        case 2: g.node = []; break;
        case 3: g.node![1]!.output = ['h']; break; // two producers of h
        case 4: m.irVersion = pick(rng, [0, -1, 999, 2 ** 40]); break;
        case 5: delete m.graph; break;
        default: g.output = []; break;
      }
      return model(m);
    },
  },
];

// --- datasets -----------------------------------------------------------------------------------

const X = (n: number, per = FEATURES) => ({ dtype: 'f4' as const, shape: [n, per], data: new Float32Array(n * per).fill(0.25) });
const Y = (n: number) => ({ dtype: 'i8' as const, shape: [n], data: new BigInt64Array(n) });

/** A stored zip whose headers declare `declared` bytes for an entry of real size `actual`. */
function lyingZip(entry: Uint8Array, declared: number): Uint8Array {
  const zip = zipSync({ 'x.npy': [entry, { level: 0 }] });
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  // Local file header: uncompressed size at 22; central directory entry (signature 0x02014b50): at 24.
  view.setUint32(22, declared >>> 0, true);
  for (let p = zip.length - 22; p >= 0; p--) {
    if (view.getUint32(p, true) === 0x02014b50) { view.setUint32(p + 24, declared >>> 0, true); break; }
  }
  return zip;
}

// 64 MiB of zeros, deflated once (~64 KiB): the payload of the "lying small" zip bombs.
let bombStream: Uint8Array | undefined;
const zerosDeflated = () => (bombStream ??= deflateSync(new Uint8Array(64 * 1024 * 1024), { level: 9 }));

/** A zip entry whose compressed data is `deflated`, declaring `declared` bytes uncompressed. */
function deflatedZip(deflated: Uint8Array, declared: number, name = 'x.npy'): Uint8Array {
  const template = zipSync({ [name]: [new Uint8Array(1), { level: 9 }] });
  // Rebuild by hand: local header + data + central directory + end record.
  const nameBytes = text(name);
  const local = new Uint8Array(30 + nameBytes.length);
  const lv = new DataView(local.buffer);
  lv.setUint32(0, 0x04034b50, true); lv.setUint16(4, 20, true); lv.setUint16(8, 8, true);
  lv.setUint32(18, deflated.length, true); lv.setUint32(22, declared >>> 0, true); lv.setUint16(26, nameBytes.length, true);
  local.set(nameBytes, 30);
  const central = new Uint8Array(46 + nameBytes.length);
  const cv = new DataView(central.buffer);
  cv.setUint32(0, 0x02014b50, true); cv.setUint16(4, 20, true); cv.setUint16(6, 20, true); cv.setUint16(10, 8, true);
  cv.setUint32(20, deflated.length, true); cv.setUint32(24, declared >>> 0, true); cv.setUint16(28, nameBytes.length, true);
  central.set(nameBytes, 46);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true); ev.setUint16(8, 1, true); ev.setUint16(10, 1, true);
  ev.setUint32(12, central.length, true); ev.setUint32(16, local.length + deflated.length, true);
  void template;
  const out = new Uint8Array(local.length + deflated.length + central.length + end.length);
  out.set(local, 0); out.set(deflated, local.length); out.set(central, local.length + deflated.length); out.set(end, local.length + deflated.length + central.length);
  return out;
}

export interface DatasetCaseOptions {
  /** Bytes of the "one long CSV line" case (the issue asks for 50 MB; the short suite uses less). */
  longLineBytes: number;
}

export function datasetClasses(opts: DatasetCaseOptions): FuzzClass[] {
  return [
    {
      name: 'npz-zip-bomb',
      what: 'zips declaring 2-4 GiB, or declaring a few bytes over 64 MiB of deflated zeros',
      make: (rng) => {
        switch (rng.int(3)) {
          case 0: return dataset(lyingZip(writeNpy(X(4)), 0xfffffff0 - rng.int(1 << 20)), 'bomb.npz');
          case 1: return dataset(deflatedZip(zerosDeflated(), 100 + rng.int(1000)), 'bomb.npz');
          default: return dataset(deflatedZip(zerosDeflated(), 64 * 1024 * 1024), 'bomb.npz');
        }
      },
    },
    {
      name: 'npz-object-array',
      what: "x or y saved with dtype object ('|O', a pickle payload) or other unreadable dtypes",
      make: (rng) => {
        const descr = pick(rng, ['|O', '<U0', '|V16', '<c16', '>f4x', '[("a","<f4")]', '<M8[s]']);
        const pickle = new Uint8Array([0x80, 0x04, 0x95, ...randomBytes(rng, 30), 0x2e]);
        const obj = npyWithHeader(`{'descr': '${descr}', 'fortran_order': False, 'shape': (4,), }`, pickle);
        const arrays = rng.next() < 0.5 ? { 'x.npy': obj, 'y.npy': writeNpy(Y(4)) } : { 'x.npy': writeNpy(X(4)), 'y.npy': obj };
        return dataset(zipSync(arrays), 'pickle.npz');
      },
    },
    {
      name: 'npy-lying-header',
      what: 'npy headers whose shape, dtype or order disagree with the payload, or do not parse',
      make: (rng) => {
        const payload = randomBytes(rng, 4 * FEATURES * 4);
        const header = pick(rng, [
          `{'descr': '<f4', 'fortran_order': False, 'shape': (${1e6 + rng.int(1e6)}, ${FEATURES}), }`,
          `{'descr': '<f4', 'fortran_order': False, 'shape': (4, -${FEATURES}), }`,
          `{'descr': '<f4', 'fortran_order': True, 'shape': (4, ${FEATURES}), }`,
          `{'descr': '<f4', 'fortran_order': False, 'shape': (${2 ** 40}, ${2 ** 40}), }`,
          `{'descr': '<f4', 'fortran_order': False, 'shape': (4, ${FEATURES}) `,
          `{'descr': __import__('os').system('id'), 'shape': (4,)}`,
          `not a dict at all ${rng.int(1e6)}`,
          `{'descr': '<f4', 'fortran_order': False, 'shape': (${'9'.repeat(400)},), }`,
        ]);
        const x = npyWithHeader(header, payload);
        return dataset(rng.next() < 0.3 ? x : zipSync({ 'x.npy': x, 'y.npy': writeNpy(Y(4)) }), rng.next() < 0.3 ? 'x.npy' : 'lying.npz');
      },
    },
    {
      name: 'dataset-nan-inf',
      what: 'x holding NaN, +Inf or -Inf at a random position',
      make: (rng) => {
        const x = X(4 + rng.int(8));
        x.data[rng.int(x.data.length)] = pick(rng, [NaN, Infinity, -Infinity]);
        return dataset(writeNpz({ x, y: Y(x.shape[0]!) }), 'nan.npz');
      },
    },
    {
      name: 'dataset-mismatch',
      what: 'x and y of different lengths, wrong feature counts, labels out of range, empty x',
      make: (rng) => {
        const n = 2 + rng.int(10);
        switch (rng.int(5)) {
          case 0: return dataset(writeNpz({ x: X(n), y: Y(n + 1 + rng.int(5)) }), 'xy.npz');
          case 1: return dataset(writeNpz({ x: X(n, FEATURES + 1 + rng.int(5)), y: Y(n) }), 'wide.npz');
          case 2: {
            const y = Y(n);
            y.data[rng.int(n)] = BigInt(pick(rng, [CLASSES, 1000, -1, 2 ** 40]));
            return dataset(writeNpz({ x: X(n), y }), 'labels.npz');
          }
          case 3: return dataset(writeNpz({ x: { dtype: 'f4', shape: [0, FEATURES], data: new Float32Array(0) }, y: Y(0) }), 'empty.npz');
          default: return dataset(writeNpz({ y: Y(n) } as never), 'noy.npz');
        }
      },
    },
    {
      name: 'csv-malformed',
      what: 'CSV with unbalanced quotes, ragged rows, text features, binary junk',
      make: (rng) => {
        const good = (k: number) => `${k % CLASSES},${Array.from({ length: FEATURES }, (_, j) => (j * 0.1).toFixed(1)).join(',')}`;
        const rows = Array.from({ length: 3 + rng.int(5) }, (_, k) => good(k));
        const at = rng.int(rows.length);
        rows[at] = pick(rng, [
          `"1,0.1,0.2,0.3,0.4`,
          `1,"0.1""x,0.2,0.3,0.4`,
          `1,0.1,0.2`,
          `1,0.1,0.2,0.3,0.4,0.5,0.6`,
          `1,abc,0.2,0.3,0.4`,
          `1,0.1,0.2,0.3,1e999`,
          String.fromCharCode(...randomBytes(rng, 40)),
        ]);
        return dataset(text(rows.join('\n')), 'bad.csv');
      },
    },
    {
      name: 'csv-long-line',
      what: `a CSV whose one line holds ${Math.round(opts.longLineBytes / 1e6)} MB of fields`,
      make: (rng) => {
        const field = '0.5,';
        const line = field.repeat(Math.floor(opts.longLineBytes / field.length)) + String(rng.int(9));
        return dataset(text(`0,${line}\n1,0.1,0.2,0.3,0.4\n`), 'long.csv');
      },
    },
  ];
}

// --- params ---------------------------------------------------------------------------------------

/** Absurd values for the params of the analyzers that run on the base model. */
const ABSURD: Array<[analyzer: string, params: (rng: Rng) => Record<string, unknown>]> = [
  ['hessian', (rng) => ({ topK: pick(rng, [1e9, 0, -3, 201, 1.5]) })],
  ['hessian', (rng) => ({ maxIter: pick(rng, [1e12, -1, 0]) })],
  ['hessian', (rng) => ({ batchSize: pick(rng, ['lots', '', '12abc', true, [64], { n: 1 }]) })],
  ['hessian', (rng) => ({ compute: pick(rng, [['everything'], 'top,bogus', [1, 2], Array.from({ length: 1000 }, () => 'top')]) })],
  ['hessian', (rng) => ({ densitySigmaSquared: pick(rng, [-1, 1e308, 'Infinity']), densityBins: pick(rng, [1e12, 10]) })],
  ['hessian', (rng) => ({ learningRate: pick(rng, [-1, 1e308, 'NaN']) })],
  ['hessian', (rng) => ({ tol: pick(rng, [-1, 2, '1e-400']) })],
  ['weights', (rng) => ({ topK: pick(rng, [1e9, -5, 0.5]) })],
  ['weights', (rng) => ({ maxFullDim: pick(rng, [1e9, 0]), convMode: pick(rng, ['slices', 'bogus']) })],
  ['weights', (rng) => ({ tensors: pick(rng, ['../../etc/passwd', 'no-such-tensor', '*'.repeat(10_000), '\u0000']) })],
  ['safety', (rng) => ({ eps: pick(rng, [-1, -1e-9, 'a lot', 1e308]) })],
  ['safety', (rng) => ({ indices: pick(rng, [[-1], [1e12], [0.5], 'zero', [2 ** 53]]), eps: 0.01 })],
  ['safety', (rng) => ({ indices: Array.from({ length: 1000 + rng.int(100_000) }, (_, k) => k), eps: 0.01 })],
  ['safety', (rng) => ({ timeout: pick(rng, [0, -1, 1e12]), eps: 0.01 })],
  ['safety', (rng) => ({ vnnlib: pick(rng, ['(assert (<= X_0 1e999))', '(((((', '../../etc/passwd', '(declare-const X_99999999 Real)']) })],
  ['safety', (rng) => ({ inputRange: pick(rng, [[1, 0], [0], [NaN, 1], ['a', 'b'], [0, 1, 2]]), eps: 0.01 })],
  ['safety', (rng) => ({ seed: pick(rng, [-1, 1e300, 2.5]), eps: 0.01 })],
  ['safety', (rng) => ({ maxEvaluations: pick(rng, [1e12, 0]), milpMaxBinaries: pick(rng, [1e12, -1]), eps: 0.01 })],
  ['evaluate', (rng) => ({ maxSamples: pick(rng, [1e12, 0, -1]) })],
  ['evaluate', (rng) => ({ output: pick(rng, ['no-such-output', '', '../../etc/passwd']), loss: pick(rng, ['bogus', 'auto']) })],
  ['saliency', (rng) => ({ indices: pick(rng, ['0-1000000000', '5-1', '-3', 'a-b', '0-3,'.repeat(5000), '999999']) })],
  ['saliency', (rng) => ({ samples: pick(rng, [1e9, 0]), steps: pick(rng, [1e12, 1]) })],
  ['saliency', (rng) => ({ layer: pick(rng, ['no-such-layer', '../x']), method: 'gradcam' })],
  ['saliency', (rng) => ({ seed: pick(rng, [-1, 1e300, 0.5]) })],
  ['blindspots', (rng) => ({ sources: pick(rng, [[-1], [1e9], Array.from({ length: 10_000 }, (_, k) => k)]), targets: [0] })],
  ['blindspots', (rng) => ({ inputRange: pick(rng, [[1, 0], [0, 0], []]) })],
  ['landscape', (rng) => ({ resolution: pick(rng, [1e6, 1]), range: pick(rng, [0, -1, 1e9]) })],
  ['landscape', (rng) => ({ otherModel: pick(rng, ['no-such-model', '../../etc/passwd', 'f'.repeat(64)]), surface: 'path' })],
  ['coherence', (rng) => ({ checkpoints: pick(rng, [['no-such-model'], Array.from({ length: 10_000 }, () => 'x'), ['../../etc']]) })],
  ['no-such-analyzer', () => ({})],
];

export const paramsClass: FuzzClass = {
  name: 'params-absurd',
  what: 'topK=1e9, eps=-1, maxIter=1e12, strings for numbers, 10^3-10^5 indices, unknown names',
  make: (rng, i) => {
    const [analyzer, params] = ABSURD[i % ABSURD.length]!;
    return { kind: 'params', analyzer, params: params(rng), withDataset: true };
  },
};

export const ONNX_CLASSES = onnxClasses;

/** Every class, in report order. */
export function allClasses(opts: DatasetCaseOptions): FuzzClass[] {
  return [...onnxClasses, ...datasetClasses(opts), paramsClass];
}
