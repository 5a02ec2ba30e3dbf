/** ONNX element types as short names, with the typed array that holds each. */
export type DType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool'
  | 'string';

const CODE_TO_DTYPE: Record<number, DType> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
};

const DTYPE_TO_CODE: Record<DType, number> = Object.fromEntries(
  Object.entries(CODE_TO_DTYPE).map(([code, name]) => [name, Number(code)]),
) as Record<DType, number>;

export function dtypeFromCode(code: number): DType {
  const dtype = CODE_TO_DTYPE[code];
  if (!dtype) throw new Error(`unsupported ONNX element type code ${code}`);
  return dtype;
}

export function dtypeToCode(dtype: DType): number {
  return DTYPE_TO_CODE[dtype];
}

export const isFloatDType = (d: DType): boolean =>
  d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** Bytes per element as stored in raw_data. */
export function dtypeSize(dtype: DType): number {
  switch (dtype) {
    case 'float64':
    case 'int64':
    case 'uint64':
      return 8;
    case 'float32':
    case 'int32':
    case 'uint32':
      return 4;
    case 'float16':
    case 'bfloat16':
    case 'int16':
    case 'uint16':
      return 2;
    case 'int8':
    case 'uint8':
    case 'bool':
      return 1;
    case 'string':
      throw new Error('string tensors have no fixed element size');
  }
}

/** The typed array ONNX Runtime for Node expects for each dtype (float16 is kept as raw Uint16). */
export function allocTyped(dtype: DType, length: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(length);
    case 'float64':
      return new Float64Array(length);
    case 'int8':
      return new Int8Array(length);
    case 'uint8':
    case 'bool':
      return new Uint8Array(length);
    case 'int16':
      return new Int16Array(length);
    case 'uint16':
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'uint32':
      return new Uint32Array(length);
    case 'int64':
      return new BigInt64Array(length);
    case 'uint64':
      return new BigUint64Array(length);
    case 'string':
      throw new Error('string tensors are not supported');
  }
}
