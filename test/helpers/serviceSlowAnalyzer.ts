/**
 * An analyzer for service tests only (loaded through ONNXSCOPE_ANALYZER_MODULES): it takes as
 * long as asked, reporting progress and honouring the abort signal, so tests can catch a job
 * in RUNNING and kill, cancel or time it out. `heapMb` / `nativeMb` make it hold that much
 * memory in the V8 heap (JS arrays) or outside it (Buffers, as onnxruntime's tensors are), for
 * the memory guards' tests.
 */
import type { Analyzer } from '../../analyzers/types.js';

const slow: Analyzer<{ ms: number; tag: string; otherModel: string; heapMb: number; nativeMb: number }, { sleptMs: number; tag: string; inputs: number; otherSha256: string | null }> = {
  name: 'test-slow',
  version: 1,
  description: 'Sleeps for `ms` milliseconds, then writes its tag as artifact tag.txt (tests only).',
  needsDataset: false,
  params: [
    { name: 'ms', type: 'int', description: 'how long to take', default: 60_000, min: 0, max: 3_600_000 },
    { name: 'tag', type: 'string', description: 'any text, to make distinct cache keys', default: '' },
    { name: 'otherModel', type: 'string', description: 'id or sha256 of another stored model to load', default: '' },
    { name: 'heapMb', type: 'int', description: 'MB of JS arrays to hold (V8 heap)', default: 0, min: 0, max: 1_000_000 },
    { name: 'nativeMb', type: 'int', description: 'MB of Buffers to hold (outside the V8 heap), 16 MB every 10 ms', default: 0, min: 0, max: 1_000_000 },
  ],
  async run({ model, params, progress, signal, artifacts, resolveModel }) {
    const other = params.otherModel && resolveModel ? await resolveModel(params.otherModel) : null;
    const held: unknown[] = [];
    // 1 MB of heap: 131072 distinct doubles in a plain array (8 bytes each, not a shared backing store).
    for (let mb = 0; mb < params.heapMb; mb++) held.push(Array.from({ length: 131_072 }, (_, i) => i + mb + 0.5));
    for (let mb = 0; mb < params.nativeMb; mb += 16) {
      held.push(Buffer.alloc(16 * 1024 * 1024, 1));
      await new Promise((r) => setTimeout(r, 10));
    }
    const start = Date.now();
    while (Date.now() - start < params.ms) {
      if (signal.aborted) throw signal.reason;
      progress((Date.now() - start) / params.ms, 'sleeping');
      await new Promise((r) => setTimeout(r, 20));
    }
    if (params.tag) await artifacts?.write('tag.txt', new TextEncoder().encode(params.tag), 'text/plain');
    held.length = 0;
    return { sleptMs: Date.now() - start, tag: params.tag, inputs: model.ir.graph.inputs.length, otherSha256: other?.sha256 ?? null };
  },
};

export default slow;
