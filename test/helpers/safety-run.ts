/** Runs the safety analyzer as the service does, and re-checks outputs in a fresh ORT session. */
import { serializeModel, type Model } from '../../native/onnx/ir.js';
import { createSession, runSession } from '../../native/runtime/session.js';
import { safetyAnalyzer, type SafetyParams, type SafetyResult } from '../../analyzers/safety/index.js';
import { validateParams } from '../../analyzers/params.js';
import type { LoadedDataset } from '../../analyzers/types.js';
import { loaded } from './tiny-models.js';

/** Runs the analyzer as the service does: params validated, defaults filled. */
export async function runSafety(model: Model, raw: Record<string, unknown>, dataset: LoadedDataset | null = null): Promise<SafetyResult> {
  const params = validateParams(safetyAnalyzer.params, raw) as SafetyParams;
  return safetyAnalyzer.run({ model: loaded(model), dataset, params, progress: () => undefined, signal: new AbortController().signal });
}

/** A fresh ORT session (not the analyzer's) on the model bytes: the output at x. */
export async function freshForward(model: Model, x: number[], dims: number[], bytes?: Uint8Array): Promise<number[]> {
  const s = await createSession(bytes ?? serializeModel(model));
  try {
    const out = await runSession(s, { [model.graph.inputs[0]!.name]: { dtype: 'float32', dims, data: Float32Array.from(x) } });
    return Array.from(Object.values(out)[0]!.data as Float32Array);
  } finally {
    await s.release();
  }
}

