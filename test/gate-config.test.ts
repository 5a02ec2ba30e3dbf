/**
 * The gate config and rule language, checked before anything runs: what a good config turns
 * into, and each kind of bad config refused with its line and reason.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import os from 'node:os';
import path from 'node:path';
import type { GraphQLSchema } from 'graphql';
import { AppError } from '../common/errors.js';
import { listAnalyzers } from '../analyzers/registry.js';
import { buildGraphQLSchema } from '../resolvers/index.js';
import { parseGateConfig, type GateConfig, type GateOverrides } from '../gate/config.js';
import { valueAt } from '../gate/fields.js';
import { compare, parseRule, thresholdOf } from '../gate/rule.js';

let schema: GraphQLSchema;
const dir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-gatecfg-'));
const file = path.join(dir, 'gate.yml');

/** A valid VNNLIB property (one input in [0, 1], unsafe when the output reaches `bound`). */
const property = (bound: number) => `; property\n(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(assert (>= X_0 0))\n(assert (<= X_0 1))\n(assert (>= Y_0 ${bound}))\n`;

before(async () => {
  schema = await buildGraphQLSchema();
  writeFileSync(path.join(dir, 'p1.vnnlib'), property(1));
  writeFileSync(path.join(dir, 'p2.vnnlib'), property(2));
  mkdirSync(path.join(dir, 'props'), { recursive: true });
  writeFileSync(path.join(dir, 'props', 'p1.vnnlib'), property(3));
  writeFileSync(path.join(dir, 'broken.vnnlib'), '(declare-const X_0 Real)(assert (<= X_0 1)');
});

const parse = (text: string, overrides: GateOverrides = {}): GateConfig => parseGateConfig(text, file, overrides, { schema, analyzers: listAnalyzers() });

/** The BAD_CONFIG message of a config, which must fail. */
function problemsOf(text: string, overrides: GateOverrides = {}): string {
  try {
    parse(text, overrides);
  } catch (err) {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.code, 'BAD_CONFIG');
    return err.message;
  }
  assert.fail(`config was accepted:\n${text}`);
}

test('a config becomes analyses (with sweeps and property files expanded) and rules with resolved fields', () => {
  const config = parse(`
model: models/candidate.onnx
data: data/test.npz
baseline: models/main.onnx
analyses:
  hessian:
    params: { compute: [top, trace], topK: 3 }
  robust:
    analyzer: safety
    params: { indices: [0, 1], timeout: 5 }
    sweep: { eps: [0.01, 0.03] }
  props:
    analyzer: safety
    vnnlib: [p1.vnnlib, p2.vnnlib]
rules:
  - evaluate.accuracy >= 0.97
  - hessian.topEigenvalues[0] <= 50
  - rule: hessian.trace <= baseline * 1.1
    name: not sharper than main
  - robust.status == holds
  - props.status != violated
  - coherence.mCoherence >= 2
  - saliency.classSensitivity <= 0.5
  - hessian.topEigenvalues[-1].residual < 1e-3
`);
  assert.equal(config.model, path.join(dir, 'models/candidate.onnx'), 'paths are relative to the config file');
  assert.equal(config.baseline, path.join(dir, 'models/main.onnx'));
  assert.deepEqual(config.analyses.map((a) => [a.key, a.analyzer.name, a.runs.length]), [
    ['hessian', 'hessian', 1],
    ['robust', 'safety', 2],
    ['props', 'safety', 2],
    ['evaluate', 'evaluate', 1],
    ['coherence', 'coherence', 1],
    ['saliency', 'saliency', 1],
  ]);
  const robust = config.analyses.find((a) => a.key === 'robust')!;
  assert.deepEqual(robust.runs.map((r) => [r.label, r.params.eps, r.params.timeout]), [['eps=0.01', 0.01, 5], ['eps=0.03', 0.03, 5]]);
  const props = config.analyses.find((a) => a.key === 'props')!;
  assert.deepEqual(props.runs.map((r) => [r.label, r.params.vnnlib, r.data]), [['p1.vnnlib', property(1), null], ['p2.vnnlib', property(2), null]], 'VNNLIB runs need no dataset');
  assert.match(String(props.runs[0]!.shown.vnnlib), /^p1\.vnnlib \(sha256 [0-9a-f]{12}\)$/, 'reports show the file, not its text');
  assert.equal(robust.runs[0]!.data, path.join(dir, 'data/test.npz'), 'eps balls need the samples');
  // An implicit saliency analysis is asked for the metric its rule reads.
  assert.deepEqual(config.analyses.find((a) => a.key === 'saliency')!.runs[0]!.params, { metrics: ['classSensitivity'] });
  assert.equal(config.analyses.find((a) => a.key === 'coherence')!.runs[0]!.data, path.join(dir, 'data/test.npz'), 'implicit analyses take the top-level data');

  const byText = new Map(config.rules.map((r) => [r.text, r]));
  assert.deepEqual(byText.get('evaluate.accuracy >= 0.97')!.field, { path: ['accuracy'], kind: 'number' });
  assert.deepEqual(byText.get('hessian.topEigenvalues[0] <= 50')!.field.path, ['topEigenvalues', 0, 'value'], 'an object compares by its headline field');
  const trace = byText.get('hessian.trace <= baseline * 1.1')!;
  assert.deepEqual(trace.field.path, ['trace', 'estimate']);
  assert.equal(trace.name, 'not sharper than main');
  assert.deepEqual(trace.expected, { kind: 'baseline', arithmetic: '*', operand: 1.1 });
  assert.deepEqual(byText.get('robust.status == holds')!.field, { path: ['status'], kind: 'string', values: ['holds', 'violated', 'unknown'] });
  assert.deepEqual(byText.get('coherence.mCoherence >= 2')!.field.path, ['real', 'metrics', 'mCoherence'], 'alias');
  assert.deepEqual(byText.get('saliency.classSensitivity <= 0.5')!.field.path, ['metrics', 'classSensitivity', 'mean'], 'alias, then headline');
  assert.deepEqual(byText.get('hessian.topEigenvalues[-1].residual < 1e-3')!.field.path, ['topEigenvalues', -1, 'residual']);
  assert.equal(byText.get('evaluate.accuracy >= 0.97')!.line, 16);
});

test('YAML anchors, aliases and merge keys are read as values; property files are labelled by their path', () => {
  const config = parse(`
model: m.onnx
data: d.npz
analyses:
  a:
    analyzer: safety
    params: &common
      indices: [0, 1]
      timeout: 5
      eps: 0.1
  b:
    analyzer: safety
    params:
      <<: *common
      eps: 0.2
  c:
    analyzer: safety
    params: *common
  p:
    analyzer: safety
    vnnlib: [props/p1.vnnlib, p1.vnnlib]
rules:
  - a.status == holds
  - b.status == holds
  - c.status == holds
  - p.status == holds
`);
  const [a, b, c, p] = config.analyses;
  assert.deepEqual(a!.runs[0]!.params, { indices: [0, 1], timeout: 5, eps: 0.1 });
  assert.deepEqual(b!.runs[0]!.params, { indices: [0, 1], timeout: 5, eps: 0.2 });
  assert.deepEqual(c!.runs[0]!.params, a!.runs[0]!.params);
  assert.deepEqual(p!.runs.map((r) => r.label), ['props/p1.vnnlib', 'p1.vnnlib']);
  assert.deepEqual(p!.runs.map((r) => r.params.vnnlib), [property(3), property(1)]);
  assert.match(problemsOf('model: m.onnx\nanalyses:\n  e:\n    analyzer: evaluate\n    params:\n      <<: 3\nrules:\n  - e.loss < 1\n'), /^[^;]*gate.yml:6: Merge sources must be maps[^;]*$/);
});

test('command-line paths replace the config file\'s', () => {
  const config = parse('model: a.onnx\ndata: d.npz\nrules:\n  - evaluate.loss < 1\n', { model: 'other.onnx', data: '/abs/x.npz' });
  assert.equal(config.model, path.resolve('other.onnx'));
  assert.equal(config.data, '/abs/x.npz');
  assert.equal(config.analyses[0]!.runs[0]!.data, '/abs/x.npz');
});

test('bad configs are refused with the line and the reason', () => {
  const head = 'model: m.onnx\ndata: d.npz\n';
  const cases: Array<[string, number, RegExp]> = [
    ['rules:\n  - evaluate.accuracy => 0.9\n', 4, /unknown operator "=>"/],
    ['rules:\n  - evaluate.accuracy ~ 0.9\n', 4, /unknown operator "~"/],
    ['rules:\n  - evaluate.acuracy >= 0.9\n', 4, /evaluate has no field "acuracy"; fields: .*accuracy/],
    ['rules:\n  - hessian.trace.estimat >= 0.9\n', 4, /hessian.trace has no field "estimat"/],
    ['rules:\n  - hessian.topEigenvalues <= 3\n', 4, /is a list: compare one element, e.g. topEigenvalues\[0\]/],
    ['rules:\n  - hessian.loss[0] <= 3\n', 4, /hessian.loss is not a list/],
    ['rules:\n  - coherence.real <= 3\n', 4, /coherence.real is an object: compare one of its fields/],
    ['rules:\n  - nosuch.value <= 3\n', 4, /unknown analysis "nosuch"/],
    ['rules:\n  - evaluate >= 3\n', 4, /names no field/],
    ['analyses:\n  r:\n    analyzer: safety\n    params: { eps: 0.1 }\nrules:\n  - r.status >= 3\n', 8, /operator >= needs a number, but r.status is a string/],
    ['analyses:\n  r:\n    analyzer: safety\n    params: { eps: 0.1 }\nrules:\n  - r.status == violted\n', 8, /r.status is one of holds, violated, unknown, never "violted"/],
    ['rules:\n  - safety.status == holds\n', 4, /safety cannot run with default params \(give exactly one property/],
    ['analyses:\n  r:\n    analyzer: safety\n    params: { eps: 0.1 }\n    vnnlib: p1.vnnlib\nrules:\n  - r.status == holds\n', 7, /give exactly one property/],
    ['analyses:\n  r:\n    analyzer: safety\n    vnnlib: broken.vnnlib\nrules:\n  - r.status == holds\n', 6, /analyses.r \[broken.vnnlib\]: vnnlib/],
    ['analyses:\n  r:\n    analyzer: safety\n    vnnlib: [p1.vnnlib, p1.vnnlib]\nrules:\n  - r.status == holds\n', 6, /two runs are both labelled "p1.vnnlib"/],
    ['analyses:\n  r:\n    analyzer: safety\n    params: { indices: [0] }\n    sweep: { eps: [1, 1.0] }\nrules:\n  - r.status == holds\n', 7, /two runs are both labelled "eps=1"/],
    ['analyses:\n  hessian:\n    params: { compute: [top] }\nrules:\n  - hessian.trace < 1\n', 7, /hessian.trace.estimate is computed only when params.compute includes "trace"/],
    ['analyses:\n  e:\n    analyzer: evaluate\n    data: 3\nrules:\n  - e.loss < 1\n', 6, /analyses.e.data: expected a string, got 3/],
    ['rules:\n  - { rule: evaluate.loss < 1, name: 7 }\n', 4, /name: expected a string, got 7/],
    ['rules:\n  - evaluate.loss < 1\n  - { rule: evaluate.loss < 2, name: evaluate.loss < 1 }\n', 5, /two rules are named "evaluate.loss < 1"/],
    ['rules:\n  - coherence.constructor > 1\n', 4, /coherence has no field "constructor"/],
    ['rules:\n  - evaluate.accuracy == holds\n', 4, /is a number, compared with the string "holds"/],
    ['rules:\n  - evaluate.loss <= baseline * 1.1\n', 4, /no baseline model/],
    ['rules:\n  - evaluate.loss <= baseline * x\n', 4, /expected a number after "baseline \*"/],
    ['rules:\n  - evaluate.loss <=\n', 4, /nothing to compare with/],
    ['analyses:\n  h:\n    analyzer: hesian\nrules:\n  - h.loss < 1\n', 5, /unknown analyzer "hesian"/],
    ['analyses:\n  hessian:\n    params: { topk: 2 }\nrules:\n  - hessian.loss < 1\n', 5, /unknown param topk/],
    ['analyses:\n  hessian:\n    params: { topK: 0 }\nrules:\n  - hessian.loss < 1\n', 5, /topK/],
    ['analyses:\n  r:\n    analyzer: safety\n    sweep: { eps: 0.1 }\nrules:\n  - r.status == holds\n', 6, /sweep: expected param: \[values\]/],
    ['analyses:\n  r:\n    analyzer: safety\n    vnnlib: [missing.vnnlib]\nrules:\n  - r.status == holds\n', 6, /missing.vnnlib: no such file/],
    ['analyses:\n  e:\n    analyzer: evaluate\n    vnnlib: p1.vnnlib\nrules:\n  - e.loss < 1\n', 6, /takes no VNNLIB property/],
    ['analyses:\n  e:\n    analyser: evaluate\nrules:\n  - e.loss < 1\n', 5, /unknown key "analyser" in analyses.e/],
    ['rule:\n  - evaluate.loss < 1\n', 3, /unknown key "rule" in the config/],
    ['rules: []\n', 3, /a list of at least one rule/],
    ['rules:\n  - { rule: 3 }\n', 4, /rule: expected a string, got 3/],
    ['rules:\n  - 3\n', 4, /a rule is a string/],
    ['rules:\n  - { rule: evaluate.loss < 1, warn: yes please }\n', 4, /warn: expected true or false/],
    ['rules:\n  - evaluate.loss < 1\nmodel: other.onnx\n', 5, /unique/],
    ['rules:\n  - evaluate.loss < 1\n  - [oops\n', 6, /end with a \]/],
  ];
  for (const [body, line, reason] of cases) {
    const message = problemsOf(head + body);
    assert.match(message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line}: `), `${body}\n=> ${message}`);
    assert.match(message, reason, body);
  }
});

test('a model and, for dataset analyzers, a dataset are required', () => {
  assert.match(problemsOf('rules:\n  - gradients.gradNorm < 1\n'), /gate.yml:1: no model: set model: in the config or pass --model; .*gate.yml:2: analyzer gradients needs a dataset/);
  assert.match(problemsOf('model: m.onnx\nanalyses:\n  hessian: {}\nrules:\n  - hessian.loss < 1\n'), /gate.yml:3: analyses.hessian: analyzer hessian needs a dataset/);
});

test('every problem of a config is reported at once', () => {
  const message = problemsOf('model: m.onnx\ndata: d.npz\nrules:\n  - evaluate.acc > 1\n  - evaluate.loss =< 2\n');
  assert.match(message, /gate.yml:4: .*acc.*; .*gate.yml:5: unknown operator "=<"/);
  // A broken analysis is reported once, not again for each rule on it.
  const once = problemsOf('model: m.onnx\nanalyses:\n  h:\n    analyzer: hesian\nrules:\n  - h.loss < 1\n  - h.trace < 2\n');
  assert.equal(once.match(/gate\.yml:\d+:/g)?.length, 1, once);
  assert.match(once, /gate.yml:4: unknown analyzer "hesian"/);
});

test('rule values: numbers, words, quoted strings, booleans and baseline arithmetic', () => {
  assert.deepEqual(parseRule('a.b >= -1.5e-3').expected, { kind: 'literal', value: -0.0015 });
  assert.deepEqual(parseRule('a.b == holds').expected, { kind: 'literal', value: 'holds' });
  assert.deepEqual(parseRule('a.b == "two words"').expected, { kind: 'literal', value: 'two words' });
  assert.deepEqual(parseRule('a.b == false').expected, { kind: 'literal', value: false });
  assert.deepEqual(parseRule('a.b <= baseline').expected, { kind: 'baseline', arithmetic: null, operand: 0 });
  assert.deepEqual(parseRule('a.b <= baseline + 0.5').expected, { kind: 'baseline', arithmetic: '+', operand: 0.5 });
  assert.deepEqual(parseRule('a.c[2].d != 1').path, ['c', 2, 'd']);
  assert.throws(() => parseRule('a.b == two words'), /cannot read "two words"/);
});

test('thresholds and comparisons', () => {
  assert.equal(thresholdOf({ kind: 'baseline', arithmetic: '*', operand: 1.1 }, 2), 2 * 1.1);
  assert.equal(thresholdOf({ kind: 'baseline', arithmetic: '-', operand: 0.5 }, 2), 1.5);
  assert.equal(thresholdOf({ kind: 'baseline', arithmetic: null, operand: 0 }, 'holds'), 'holds');
  assert.equal(thresholdOf({ kind: 'baseline', arithmetic: '+', operand: 1 }, 'holds'), undefined);
  const table: Array<[unknown, Parameters<typeof compare>[1], unknown, boolean]> = [
    [1, '<', 2, true], [2, '<', 2, false], [2, '<=', 2, true], [3, '>', 2, true], [2, '>=', 2.0000001, false],
    [2, '==', 2, true], [2, '!=', 2, false], ['holds', '==', 'holds', true], ['unknown', '!=', 'holds', true],
    ['holds', '<', 'z', false], [Number.NaN, '<=', 1, false], [Number.NaN, '>', 1, false], [true, '==', true, true],
  ];
  for (const [a, op, b, want] of table) assert.equal(compare(a, op, b), want, `${String(a)} ${op} ${String(b)}`);
});

test('values are read from results, with negative indices from the end', () => {
  const result = { top: [{ value: 3 }, { value: 2 }, { value: 1 }], trace: { estimate: 7 }, none: null };
  assert.equal(valueAt(result, ['top', 0, 'value']), 3);
  assert.equal(valueAt(result, ['top', -1, 'value']), 1);
  assert.equal(valueAt(result, ['top', 5, 'value']), undefined);
  assert.equal(valueAt(result, ['none', 'x']), undefined);
  assert.equal(valueAt(result, ['trace', 'estimate']), 7);
});

test('the gate configs and the CI workflow in the READMEs parse and pass the checks', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const blocks = ['README.md', 'gate/README.md'].flatMap((f) =>
    [...readFileSync(path.join(root, f), 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => ({ file: f, text: m[1]! })),
  );
  const configs = blocks.filter((b) => /^rules:/m.test(b.text));
  assert.equal(configs.length, 2, 'one example config per README');
  for (const p of ['props/prop_1.vnnlib', 'props/prop_2.vnnlib']) writeFileSync(path.join(dir, p), property(1));
  for (const { file: readme, text } of configs) {
    const config = parse(text);
    assert.ok(config.rules.length >= 4, readme);
  }
  const workflow = blocks.find((b) => /^jobs:/m.test(b.text));
  assert.ok(workflow, 'the README has a CI workflow');
  const doc = parseDocument(workflow.text);
  assert.deepEqual(doc.errors, []);
  const steps = (doc.toJSON() as { jobs: { gate: { steps: Array<{ run?: string }> } } }).jobs.gate.steps;
  assert.ok(steps.some((s) => /gate --config gate\.yml .*--junit/s.test(s.run ?? '')));
});
