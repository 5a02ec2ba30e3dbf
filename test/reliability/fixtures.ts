/**
 * The valid inputs the fuzz cases are mutated from: a 4 -> 3 linear classifier as a raw
 * ModelProto (onnx-proto, so a case can break what our own IR would refuse to write) and an
 * npz that fits it.
 */
import onnxProto from 'onnx-proto';
import { writeNpz } from '../../datasets/npz.js';

const { onnx } = onnxProto;
export type ModelProto = onnxProto.onnx.IModelProto;
export const FEATURES = 4;
export const CLASSES = 3;

const f32 = (n: number, seed: number) => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(seed + i * 1.7) * 0.5;
  return a;
};
const raw = (a: Float32Array) => new Uint8Array(a.buffer.slice(0));

const tensorType = (elemType: number, dims: (number | string)[]) => ({
  tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } },
});

/** x [N, 4] -> MatMul W [4, 3] -> Add b [3] -> logits [N, 3]. A fresh object each call (cases mutate it). */
export function baseModelProto(): ModelProto {
  return {
    irVersion: 8,
    producerName: 'onnxscope-reliability',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'linear',
      node: [
        { opType: 'MatMul', input: ['x', 'W'], output: ['h'], name: 'matmul' },
        { opType: 'Add', input: ['h', 'b'], output: ['logits'], name: 'add' },
      ],
      input: [{ name: 'x', type: tensorType(1, ['N', FEATURES]) }],
      output: [{ name: 'logits', type: tensorType(1, ['N', CLASSES]) }],
      initializer: [
        { name: 'W', dataType: 1, dims: [FEATURES, CLASSES], rawData: raw(f32(FEATURES * CLASSES, 1)) },
        { name: 'b', dataType: 1, dims: [CLASSES], rawData: raw(f32(CLASSES, 2)) },
      ],
    },
  };
}

export const encodeModel = (m: ModelProto): Uint8Array => onnx.ModelProto.encode(onnx.ModelProto.create(m)).finish();

export const baseModelBytes = (): Uint8Array => encodeModel(baseModelProto());

/** n samples of the 4 features with class labels 0..2: what the base model accepts. */
export function baseNpz(n = 8, compressed = false): Uint8Array {
  const x = f32(n * FEATURES, 3);
  const y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) y[i] = BigInt(i % CLASSES);
  return writeNpz({ x: { dtype: 'f4', shape: [n, FEATURES], data: x }, y: { dtype: 'i8', shape: [n], data: y } }, { compress: compressed });
}

/** A hand-written .npy: any header text (lying shapes, object dtypes) over any payload. */
export function npyWithHeader(header: string, payload: Uint8Array): Uint8Array {
  const pre = 10;
  let text = header;
  const pad = 64 - ((pre + text.length + 1) % 64);
  text = text + ' '.repeat(pad === 64 ? 0 : pad) + '\n';
  const out = new Uint8Array(pre + text.length + payload.length);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0], 0);
  new DataView(out.buffer).setUint16(8, text.length, true);
  out.set(new TextEncoder().encode(text), pre);
  out.set(payload, pre + text.length);
  return out;
}
