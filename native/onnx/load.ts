import { onnx } from './proto.js';
import { modelFromProto, type Model } from './ir.js';
import { AppError, badModel } from '../../common/errors.js';

export interface LoadLimits {
  /** Refuse files above this many bytes (TOO_LARGE). */
  maxBytes?: number;
}

/**
 * Parses ONNX bytes into the IR and checks that the graph is well formed: every node input
 * is produced earlier, by an initializer or a graph input, and no tensor is produced twice.
 * Models are never handed to the runtime before this passes.
 */
export function loadModel(bytes: Uint8Array, limits: LoadLimits = {}): Model {
  if (limits.maxBytes !== undefined && bytes.length > limits.maxBytes) {
    throw new AppError('TOO_LARGE', `model is ${bytes.length} bytes; the limit is ${limits.maxBytes}`);
  }
  if (bytes.length === 0) throw badModel('the file is empty');
  let proto;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw badModel(`not a valid ONNX protobuf: ${(err as Error).message}`);
  }
  // ONNX requires one opset import; the IR would assume opset 1, the runtime refuses the file.
  if (!proto.opsetImport || proto.opsetImport.length === 0) throw badModel('the model imports no opset (opset_import is empty); ONNX requires at least one');
  let model: Model;
  try {
    model = modelFromProto(proto);
  } catch (err) {
    // Whatever the decoder trips over in these bytes is the file's fault, not ours.
    if (err instanceof AppError) throw err;
    throw badModel(`the model does not decode: ${(err as Error).message}`);
  }
  checkVersions(model);
  checkDeclaredDims(model);
  if (model.graph.nodes.length === 0) throw badModel('the graph has no nodes');
  if (model.graph.outputs.length === 0) throw badModel('the graph has no outputs');
  validateTopology(model);
  return model;
}

/**
 * The newest IR version and default-domain opset the bundled ONNX Runtime (1.30) loads. A file
 * outside these ranges is refused here with BAD_MODEL instead of failing later inside the runtime.
 */
export const MAX_IR_VERSION = 13;
export const MAX_ONNX_OPSET = 26;

function checkVersions(model: Model): void {
  if (!Number.isSafeInteger(model.irVersion) || model.irVersion < 1 || model.irVersion > MAX_IR_VERSION) {
    throw badModel(`IR version ${model.irVersion} is not one the runtime loads (1..${MAX_IR_VERSION})`);
  }
  for (const [domain, version] of model.opsets) {
    if (!Number.isSafeInteger(version) || version < 1) throw badModel(`opset ${version} of domain "${domain || 'ai.onnx'}" is not a valid version`);
    if ((domain === '' || domain === 'ai.onnx') && version > MAX_ONNX_OPSET) {
      throw badModel(`opset ${version} of ai.onnx is newer than the runtime supports (${MAX_ONNX_OPSET})`);
    }
  }
}

/**
 * Declared input/output dims: -1 is what some exporters write for "unknown" (accepted as such);
 * anything below it, or beyond 2^53 where the number is no longer exact, is not a dimension.
 */
function checkDeclaredDims(model: Model): void {
  for (const v of [...model.graph.inputs, ...model.graph.outputs]) {
    for (const d of v.shape ?? []) {
      if (typeof d === 'number' && (!Number.isSafeInteger(d) || d < -1)) {
        throw badModel(`"${v.name}" declares the dimension ${d}; a dimension is a size >= 0 (or -1 for unknown) below 2^53`);
      }
    }
  }
}

export function validateTopology(model: Model): void {
  const g = model.graph;
  const defined = new Set<string>(['']);
  for (const v of g.inputs) defined.add(v.name);
  for (const name of g.initializers.keys()) defined.add(name);
  for (const n of g.nodes) {
    if (!n.opType) throw badModel(`node "${n.name}" has no op type`);
    for (const i of n.inputs) {
      if (!defined.has(i)) {
        throw badModel(`node "${n.name}" (${n.opType}) reads "${i}", which nothing produces before it`);
      }
    }
    for (const o of n.outputs) {
      if (o === '') continue;
      if (defined.has(o)) throw badModel(`tensor "${o}" is produced twice`);
      defined.add(o);
    }
  }
  for (const o of g.outputs) {
    if (!defined.has(o.name)) throw badModel(`graph output "${o.name}" is never produced`);
  }
}
