/**
 * ONNX's own backend tests (Debian package libonnx-testdata, installed by .ci/run): for every
 * model whose ops all have autodiff rules and that has a floating-point input and output, the
 * gradient graph must build and run, and a random directional derivative must match central
 * finite differences. Models run in float64 when ONNX Runtime has the kernels (tighter check).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import '../native/autodiff/rules/index.js';
import { loadModel } from '../native/onnx/load.js';
import { onnx } from '../native/onnx/proto.js';
import { tensorFromProto, type Tensor } from '../native/onnx/tensor.js';
import { isFloatDType } from '../native/onnx/dtype.js';
import { upgradeOpset } from '../native/onnx/upgrade.js';
import { toFloat64 } from '../native/onnx/precision.js';
import { unsupportedOps } from '../native/autodiff/registry.js';
import { checkGradient } from './helpers/gradcheck.js';
import type { Model } from '../native/onnx/ir.js';

const ROOT = '/usr/share/libonnx-testdata/data';
const SUITES = ['node', 'pytorch-converted', 'pytorch-operator', 'simple'];

/**
 * Cases whose check is not meaningful, with the reason. Anything else that fails is a bug.
 */
const NOT_SMOOTH: Record<string, string> = {};

function widen(t: Tensor): Tensor {
  return t.dtype === 'float32' ? { dtype: 'float64', dims: t.dims, data: Float64Array.from(t.data as Float32Array) } : t;
}

interface Case {
  name: string;
  model: Model;
  feeds: Record<string, Tensor>;
}

function loadCase(dir: string, name: string): Case | string {
  const modelPath = join(dir, 'model.onnx');
  const dataDir = join(dir, 'test_data_set_0');
  if (!existsSync(modelPath) || !existsSync(dataDir)) return 'no model or data';
  let model: Model;
  try {
    model = upgradeOpset(loadModel(readFileSync(modelPath)));
  } catch (err) {
    return `does not load: ${(err as Error).message}`;
  }
  if (unsupportedOps(model).length > 0) return `ops without rules: ${unsupportedOps(model).join(',')}`;
  const feeds: Record<string, Tensor> = {};
  const inputs = model.graph.inputs;
  for (let k = 0; k < inputs.length; k++) {
    const file = join(dataDir, `input_${k}.pb`);
    if (!existsSync(file)) return 'missing input file';
    try {
      feeds[inputs[k]!.name] = tensorFromProto(onnx.TensorProto.decode(readFileSync(file)) as never);
    } catch (err) {
      return `input not a plain tensor: ${(err as Error).message}`;
    }
  }
  const floatIn = inputs.filter((v) => isFloatDType(feeds[v.name]!.dtype) && feeds[v.name]!.dtype !== 'float16');
  if (floatIn.length === 0) return 'no floating-point input';
  if (!model.graph.outputs.some((o) => o.dtype === 'float32' || o.dtype === 'float64')) return 'no floating-point output';
  return { name, model, feeds };
}

test('ONNX backend node tests: gradients match finite differences for every covered model', { timeout: 900_000 }, async (t) => {
  if (!existsSync(ROOT)) {
    t.skip(`${ROOT} missing: install the Debian package libonnx-testdata (.ci/run does)`);
    return;
  }
  let total = 0;
  let covered = 0;
  const failures: string[] = [];
  const skipped = new Map<string, number>();
  for (const suite of SUITES) {
    for (const name of readdirSync(join(ROOT, suite)).sort()) {
      total++;
      const c = loadCase(join(ROOT, suite, name), `${suite}/${name}`);
      if (typeof c === 'string') {
        const reason = c.split(':')[0]!;
        skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
        continue;
      }
      if (NOT_SMOOTH[c.name]) continue;
      covered++;
      const floatOutputs = c.model.graph.outputs.filter((o) => o.dtype === 'float32' || o.dtype === 'float64').map((o) => o.name);
      const wrt = c.model.graph.inputs.filter((v) => isFloatDType(c.feeds[v.name]!.dtype)).map((v) => v.name);
      try {
        let report;
        try {
          const wideFeeds = Object.fromEntries(Object.entries(c.feeds).map(([k, v]) => [k, widen(v)]));
          report = await checkGradient(toFloat64(c.model), wideFeeds, { wrt, outputs: floatOutputs, rtol: 1e-5 });
        } catch (err) {
          if (!/NOT_IMPLEMENTED|Could not find an implementation|kernel/i.test(String(err))) throw err;
          report = await checkGradient(c.model, c.feeds, { wrt, outputs: floatOutputs });
        }
        if (!report.ok) failures.push(`${c.name}: analytic ${report.analytic} vs numeric ${report.numeric}`);
      } catch (err) {
        failures.push(`${c.name}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  }
  t.diagnostic(`libonnx-testdata: ${covered} of ${total} models covered and checked; ${failures.length} failed`);
  for (const [reason, n] of skipped) t.diagnostic(`  not covered (${reason}): ${n}`);
  console.log(`# libonnx-testdata models covered: ${covered} of ${total}`);
  assert.deepEqual(failures, [], failures.join('\n'));
  assert.ok(covered > 0, 'no model covered');
});
