import { allocTyped, dtypeFromCode, dtypeSize, dtypeToCode, type DType, type TypedArray } from './dtype.js';
import { badModel } from '../../common/errors.js';
import { onnx, type TensorProto } from './proto.js';

/** A dense tensor held in JavaScript memory. `data.length === numel(dims)`. */
export interface Tensor {
  dtype: DType;
  dims: number[];
  data: TypedArray;
}

export const numel = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

export function tensor(dtype: DType, dims: number[], values?: ArrayLike<number> | ArrayLike<bigint>): Tensor {
  const data = allocTyped(dtype, numel(dims));
  if (values) {
    if (values.length !== data.length) throw new Error(`tensor: ${values.length} values for dims [${dims}]`);
    if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
      for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i] as number | bigint);
    } else if (ArrayBuffer.isView(values) && !(values instanceof BigInt64Array || values instanceof BigUint64Array)) {
      // Typed-to-typed copies convert natively (float64 <-> float32): far faster than a JS loop.
      (data as Float64Array).set(values as unknown as Float64Array);
    } else {
      for (let i = 0; i < values.length; i++) data[i] = Number(values[i]);
    }
  }
  return { dtype, dims, data };
}

/** Element i as a JavaScript number (int64 converted; exact below 2^53). */
export const elementAsNumber = (t: Tensor, i: number): number => Number(t.data[i]);

export function toNumberArray(t: Tensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

/** Reads a TensorProto. External data is refused: models must be self-contained. */
export function tensorFromProto(proto: TensorProto): Tensor {
  const name = proto.name || '(unnamed)';
  if (proto.dataLocation === 1 || (proto.externalData && proto.externalData.length > 0)) {
    throw badModel(`tensor "${name}" references external data; upload a self-contained model`, {
      tensor: name,
    });
  }
  const dtype = dtypeFromCode(proto.dataType ?? 0);
  if (dtype === 'string') throw badModel(`tensor "${name}" holds strings, which onnxscope does not handle`);
  const dims = (proto.dims ?? []).map((d) => Number(d));
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw badModel(`tensor "${name}" has invalid dims [${dims}]`);
  const n = numel(dims);
  // The data present is checked against the dims before anything is allocated: a tensor that
  // declares [1e5, 1e5] over 48 bytes must be refused, not make us allocate 40 GB first.
  const raw = proto.rawData;
  if (raw && raw.length > 0) {
    // ONNX: when raw_data is present the typed field must not be; which one would be meant?
    if (pickTypedField(proto, dtype).length > 0) throw badModel(`tensor "${name}" holds both raw_data and typed values`);
    const expected = n * dtypeSize(dtype);
    if (raw.length !== expected) {
      throw badModel(`tensor "${name}" has ${raw.length} bytes of raw data, expected ${expected} for dims [${dims}]`);
    }
    const out = allocTyped(dtype, n);
    // Copy through a fresh aligned buffer: raw_data is little-endian and may be unaligned.
    new Uint8Array(out.buffer, out.byteOffset, expected).set(raw);
    return { dtype, dims, data: out };
  }
  const source = pickTypedField(proto, dtype);
  if (source.length !== n) {
    throw badModel(`tensor "${name}" has ${source.length} values, expected ${n} for dims [${dims}]`);
  }
  const out = allocTyped(dtype, n);
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) out[i] = BigInt(String(source[i]));
  } else if (dtype === 'float16' || dtype === 'bfloat16') {
    // int32_data holds the 16-bit patterns.
    for (let i = 0; i < n; i++) out[i] = Number(source[i]);
  } else {
    for (let i = 0; i < n; i++) out[i] = Number(source[i]);
  }
  return { dtype, dims, data: out };
}

function pickTypedField(proto: TensorProto, dtype: DType): ArrayLike<unknown> {
  switch (dtype) {
    case 'float32':
      return proto.floatData ?? [];
    case 'float64':
      return proto.doubleData ?? [];
    case 'int64':
      return proto.int64Data ?? [];
    case 'uint32':
    case 'uint64':
      return proto.uint64Data ?? [];
    default:
      return proto.int32Data ?? [];
  }
}

export function tensorToProto(name: string, t: Tensor): TensorProto {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return onnx.TensorProto.create({
    name,
    dataType: dtypeToCode(t.dtype),
    dims: t.dims,
    rawData: new Uint8Array(bytes),
  });
}
