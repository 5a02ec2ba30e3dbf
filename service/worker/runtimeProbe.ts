/**
 * What the runtime in this process runs on. The provider is only known once a session exists
 * (CUDA is tried, and may fall back to CPU, at session creation), so a process that has not
 * run anything yet opens one on a one-node model first.
 */
import { createSession, runtimeInfo, type RuntimeInfo } from '../../native/runtime/session.js';
import { serializeModel, type Model } from '../../native/onnx/ir.js';

let probed: Promise<void> | undefined;

export async function probeRuntime(): Promise<RuntimeInfo> {
  if (runtimeInfo().providerInUse === null) {
    probed ??= createSession(serializeModel(identityModel())).then(
      (s) => s.release(),
      () => undefined,
    );
    await probed;
  }
  return runtimeInfo();
}

function identityModel(): Model {
  const io = (name: string) => ({ name, dtype: 'float32' as const, shape: [1] });
  return {
    irVersion: 8,
    opsets: new Map([['', 13]]),
    producerName: 'onnxscope-probe',
    producerVersion: '1',
    graph: {
      name: 'probe',
      nodes: [{ opType: 'Identity', domain: '', name: 'identity', inputs: ['x'], outputs: ['y'], attrs: {} }],
      inputs: [io('x')],
      outputs: [io('y')],
      initializers: new Map(),
      valueInfo: new Map(),
    },
  };
}
