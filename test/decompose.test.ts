/**
 * Composite ops expanded into primitives (native/onnx/decompose.ts) compute what the ONNX spec
 * says: every NegativeLogLikelihoodLoss / SoftmaxCrossEntropyLoss model of ONNX's backend tests
 * (Debian libonnx-testdata), expanded, reproduces the expected outputs stored with it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../native/onnx/load.js';
import { upgradeOpset } from '../native/onnx/upgrade.js';
import { type Tensor } from '../native/onnx/tensor.js';
import { runModelOnce } from '../native/runtime/session.js';
import { unsupportedOps } from '../native/autodiff/registry.js';
import '../native/autodiff/rules/index.js';
import { onnxBackendData, readBackendTensor } from './helpers/onnx-backend.js';


test('expanded NLL, softmax cross-entropy and Mean reproduce the backend tests expected outputs', async (t) => {
  const ROOT = onnxBackendData('node');
  const cases = readdirSync(ROOT).filter((n) => /^test_(nllloss|sce|mean)_/.test(n) && !n.endsWith('_expanded'));
  let checked = 0;
  for (const name of cases) {
    const dir = join(ROOT, name);
    const model = loadModel(readFileSync(join(dir, 'model.onnx')));
    assert.ok(model.graph.nodes.some((n) => /^(NegativeLogLikelihoodLoss|SoftmaxCrossEntropyLoss|Mean)$/.test(n.opType)));
    const expanded = upgradeOpset(model);
    assert.ok(!expanded.graph.nodes.some((n) => /^(NegativeLogLikelihoodLoss|SoftmaxCrossEntropyLoss|Mean)$/.test(n.opType)), `${name} is expanded`);
    assert.deepEqual(unsupportedOps(model), [], `${name}: the composite counts as supported`);
    const read = (f: string): Tensor => readBackendTensor(join(dir, 'test_data_set_0', f));
    const feeds: Record<string, Tensor> = {};
    expanded.graph.inputs.forEach((v, k) => (feeds[v.name] = read(`input_${k}.pb`)));
    const out = await runModelOnce(expanded, feeds);
    expanded.graph.outputs.forEach((o, k) => {
      const want = read(`output_${k}.pb`);
      const got = out[o.name]!;
      assert.deepEqual(got.dims, want.dims, `${name} output ${k} shape`);
      for (let i = 0; i < want.data.length; i++) {
        const a = Number(got.data[i]);
        const b = Number(want.data[i]);
        assert.ok(Math.abs(a - b) <= 1e-5 + 1e-5 * Math.abs(b), `${name} output ${k}[${i}]: ${a} vs ${b}`);
      }
    });
    checked++;
  }
  t.diagnostic(`${checked} composite-op models reproduced`);
  assert.ok(checked >= 40, `only ${checked} cases`);
});
