import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { printedSchema, SCHEMA_FILE } from '../resolvers/print.js';
import { resultTypeName } from '../schema/results/registry.js';

test('schema/schema.graphql matches the code (regenerate: npm run build && node dist/resolvers/print.js)', async () => {
  assert.equal(await printedSchema(), readFileSync(SCHEMA_FILE, 'utf8'));
});

test('result type files are discovered and join the AnalysisResult union', async () => {
  const schema = readFileSync(SCHEMA_FILE, 'utf8');
  assert.match(schema, /union AnalysisResult = .*EvaluateResult/);
  assert.equal(resultTypeName('evaluate'), 'EvaluateResult');
  assert.equal(resultTypeName('no-such-analyzer'), null);
});
