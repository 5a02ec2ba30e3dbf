/**
 * ONNX's own backend test models and their stored inputs/outputs, from the Debian package
 * libonnx-testdata (`.ci/run` installs it). The suites that read them fail — never skip — when
 * the package is missing, with the command that installs it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from '../../native/onnx/proto.js';
import { tensorFromProto, type Tensor } from '../../native/onnx/tensor.js';

/** Where Debian puts the data; ONNX_BACKEND_TEST_DATA points elsewhere (e.g. an onnx checkout's onnx/backend/test/data). */
const ROOT = process.env.ONNX_BACKEND_TEST_DATA ?? '/usr/share/libonnx-testdata/data';

/** The folder of one suite (`node`, `simple`, `pytorch-converted`, ...), or the data root; throws when the package is missing. */
export function onnxBackendData(suite = ''): string {
  const dir = join(ROOT, suite);
  if (!existsSync(dir)) {
    throw new Error(
      `ONNX backend test data not found at ${dir}: install the Debian package libonnx-testdata ` +
        '(`apt-get install -y libonnx-testdata`, as .ci/run does) or set ONNX_BACKEND_TEST_DATA to its data folder',
    );
  }
  return dir;
}

/** A TensorProto file (`input_0.pb`, `output_0.pb`) of a backend test case, as a Tensor. */
export function readBackendTensor(file: string): Tensor {
  return tensorFromProto(onnx.TensorProto.decode(readFileSync(file)) as never);
}
