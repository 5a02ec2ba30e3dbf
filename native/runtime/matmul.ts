/**
 * Dense float64 matrix products on ONNX Runtime's CPU/CUDA kernels (MLAS on CPU): 4096 × 4096
 * times 4096 × 266 takes about half a second here, where a JavaScript triple loop (ml-matrix
 * `mmul`) takes tens of seconds. Used by the randomized SVD of large weight matrices.
 */
import { serializeModel, int, type Model } from '../onnx/ir.js';
import { createSession, ort } from './session.js';

/** One Gemm with transA fixed: Y = op(A) · B, op = identity or transpose. */
function gemmModel(transA: boolean): Model {
  return {
    irVersion: 8,
    opsets: new Map([['', 13]]),
    producerName: 'onnxscope',
    producerVersion: '0',
    graph: {
      name: transA ? 'matmul_at' : 'matmul',
      nodes: [{ opType: 'Gemm', domain: '', name: 'gemm', inputs: ['a', 'b'], outputs: ['y'], attrs: { transA: int(transA ? 1 : 0) } }],
      inputs: [
        { name: 'a', dtype: 'float64', shape: ['r', 'c'] },
        { name: 'b', dtype: 'float64', shape: ['k', 'l'] },
      ],
      outputs: [{ name: 'y', dtype: 'float64', shape: ['m', 'l'] }],
      initializers: new Map(),
      valueInfo: new Map(),
    },
  };
}

export interface MatMul {
  /** Row-major product op(A)·B: A is rows × cols (op(A) its transpose when transposeA), B has op(A)'s column count rows and `l` columns. */
  multiply(a: Float64Array, rows: number, cols: number, b: Float64Array, l: number, transposeA?: boolean): Promise<Float64Array>;
  release(): Promise<void>;
}

export async function openMatMul(): Promise<MatMul> {
  const plain = await createSession(serializeModel(gemmModel(false)));
  const transposed = await createSession(serializeModel(gemmModel(true))).catch(async (err: unknown) => {
    await plain.release();
    throw err;
  });
  return {
    async multiply(a, rows, cols, b, l, transposeA = false) {
      const inner = transposeA ? rows : cols;
      if (b.length !== inner * l) throw new Error(`matmul: B has ${b.length} entries, expected ${inner} × ${l}`);
      const session = transposeA ? transposed : plain;
      const out = await session.run({ a: new ort.Tensor('float64', a, [rows, cols]), b: new ort.Tensor('float64', b, [inner, l]) });
      return out.y!.data as Float64Array;
    },
    async release() {
      await plain.release();
      await transposed.release();
    },
  };
}
