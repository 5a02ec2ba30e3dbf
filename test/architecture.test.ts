/**
 * The import rule: every import points down the layers written in .dependency-cruiser.cjs, and
 * nothing imports in a cycle. No exceptions are listed: any wrong-way import or cycle fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from './helpers/test-data.js';

const LAYERS = ['common', 'native', 'datasets', 'analyzers', 'storage', 'service', 'schema', 'resolvers', 'gate', 'cli'];
const depcruise = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'depcruise');

function cruise(cwd: string, extra: string[] = []) {
  const r = spawnSync(depcruise, ['--config', path.join(cwd, '.dependency-cruiser.cjs'), '--output-type', 'err', ...extra, ...LAYERS], { cwd, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

test('imports go down the layers, with no cycles', () => {
  const r = cruise(PROJECT_ROOT);
  assert.equal(r.code, 0, r.out);
});

test('the rule catches a wrong-way import and a cycle', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-layers-'));
  try {
    copyFileSync(path.join(PROJECT_ROOT, '.dependency-cruiser.cjs'), path.join(dir, '.dependency-cruiser.cjs'));
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }));
    for (const d of LAYERS) mkdirSync(path.join(dir, d));
    writeFileSync(path.join(dir, 'common', 'ok.ts'), 'export const one = 1;\n');
    writeFileSync(path.join(dir, 'native', 'up.ts'), "import { a } from '../analyzers/a.js';\nexport const b = a;\n");
    writeFileSync(path.join(dir, 'analyzers', 'a.ts'), "import { one } from '../common/ok.js';\nexport const a = one;\nexport type A = number;\n");
    writeFileSync(path.join(dir, 'storage', 's.ts'), 'export type S = string;\n');
    // schema/ may name the types of the layers below (its classes implement them), not their code.
    writeFileSync(path.join(dir, 'schema', 'types.ts'), "import type { A } from '../analyzers/a.js';\nexport type B = A;\n");
    writeFileSync(path.join(dir, 'schema', 'code.ts'), "import { a } from '../analyzers/a.js';\nexport const c = a;\n");
    writeFileSync(path.join(dir, 'schema', 'store.ts'), "import type { S } from '../storage/s.js';\nexport type T = S;\n");
    writeFileSync(path.join(dir, 'service', 'x.ts'), "import { y } from './y.js';\nexport const x = () => y();\n");
    writeFileSync(path.join(dir, 'service', 'y.ts'), "import { x } from './x.js';\nexport const y = () => x;\n");
    const r = cruise(dir);
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /native-imports-only-below: native\/up\.ts → analyzers\/a\.ts/);
    assert.match(r.out, /no-cycles: service\/(x|y)\.ts/);
    assert.doesNotMatch(r.out, /analyzers-imports-only-below/, 'analyzers -> common is allowed');
    assert.match(r.out, /schema-imports-only-below: schema\/code\.ts → analyzers\/a\.ts/);
    assert.match(r.out, /schema-imports-types-only-below: schema\/store\.ts → storage\/s\.ts/);
    assert.doesNotMatch(r.out, /schema\/types\.ts/, 'schema may import types from analyzers');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
