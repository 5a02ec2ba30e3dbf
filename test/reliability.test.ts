/**
 * The short, bounded version of the reliability suite (the full one: `npm run bench --
 * reliability`, docs/RELIABILITY.md). Outcomes only, no timings: fuzzed inputs get coded errors
 * (never INTERNAL, a crash or a hang) and the server keeps every earlier result; kill -9 during
 * jobs loses nothing; identical requests compute once; every security probe is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runFuzzSuite } from './reliability/fuzzSuite.js';
import { runCrashRound } from './reliability/crash.js';
import { computeOnce } from './reliability/load.js';
import { runProbes } from './reliability/probes.js';
import { startServerProcess } from './reliability/server.js';
import { UPLOAD_MODEL } from './reliability/client.js';
import { baseModelBytes } from './reliability/fixtures.js';

test('fuzz: every malformed input gets a coded error; the server stays up and keeps its results', async () => {
  const report = await runFuzzSuite({ perClass: 8, counts: { 'csv-long-line': 1, 'npz-zip-bomb': 6 }, longLineBytes: 5e6, jobTimeoutMs: 20_000 });
  assert.deepEqual(report.failures, [], `internal / hang / crash:\n${report.failures.map((f) => `${f.cls} #${f.index} ${f.outcome} ${f.code} ${f.message}`).join('\n')}`);
  const total = report.classes.reduce((s, c) => s + c.cases, 0);
  assert.ok(total >= 120, `${total} cases`);
  for (const c of report.classes) assert.ok(c.cases > 0 && c.refused + c.accepted === c.cases, `${c.cls}: ${JSON.stringify(c)}`);
  // Classes whose every case is malformed beyond doubt must all be refused, with their code.
  const by = new Map(report.classes.map((c) => [c.cls, c]));
  for (const [cls, codes] of [
    ['onnx-truncated', ['BAD_MODEL']],
    ['onnx-random', ['BAD_MODEL']],
    ['onnx-tensor-bytes', ['BAD_MODEL']],
    ['onnx-cycle', ['BAD_MODEL']],
    ['onnx-external-data', ['BAD_MODEL']],
    ['npz-zip-bomb', ['BAD_DATASET', 'TOO_LARGE']],
    ['npz-object-array', ['BAD_DATASET']],
    ['dataset-nan-inf', ['BAD_DATASET']],
    ['csv-malformed', ['BAD_DATASET']],
    ['csv-long-line', ['TOO_LARGE']],
  ] as const) {
    const c = by.get(cls)!;
    assert.equal(c.refused, c.cases, `${cls}: ${JSON.stringify(c.codes)}`);
    for (const code of Object.keys(c.codes)) assert.ok((codes as readonly string[]).includes(code), `${cls}: ${code}`);
  }
  assert.ok(report.aliveAfter);
  assert.ok(report.readBack.total >= 2);
  assert.equal(report.readBack.ok, report.readBack.total, 'every earlier result reads back unchanged');
});

test('kill -9 during queued and running jobs: nothing lost, nothing stuck, nothing corrupt', async () => {
  const r = await runCrashRound(0, { rounds: 1, jobsPerRound: 24, jobMs: 100 });
  assert.equal(r.integrity, 'ok');
  assert.ok(r.doneBeforeKill >= 1 && r.doneBeforeKill < r.jobs, JSON.stringify(r));
  assert.equal(r.resultsLost, 0, JSON.stringify(r));
  assert.equal(r.resultsIntact, r.doneBeforeKill);
  assert.equal(r.stuck, 0);
  assert.equal(r.succeededAfter + r.failedWithReason, r.jobs);
  assert.equal(r.truncatedBlobs, 0);
  assert.equal(r.orphanBlobs, 0);
  // A blob write the kill interrupted stays in blobs/tmp (never in place) until gc: at most one per worker.
  assert.ok(r.tmpFiles <= 2, `${r.tmpFiles} temp files`);
});

test('10 identical analysis requests at once are computed once', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-once-'));
  const server = await startServerProcess({ dataDir, workers: 2 });
  try {
    const up = await server.client.upload(UPLOAD_MODEL, {}, { bytes: baseModelBytes(), filename: 'base.onnx' });
    const modelId = up.body.data!.uploadModel.id;
    const once = await computeOnce(server.client, { modelId, analyzer: 'test-slow', params: { ms: 500, tag: 'once' } });
    assert.deepEqual(once, { requests: 10, distinctAnalyses: 1, computations: 1, sameResult: true });
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('security probes: each refused with the right status, no answer leaks', async () => {
  const probes = await runProbes();
  assert.ok(probes.length >= 50, `${probes.length} probes`);
  const failed = probes.filter((p) => !p.ok);
  assert.deepEqual(failed, [], failed.map((p) => `${p.probe}: expected ${p.expected}, got ${p.got}`).join('\n'));
});
