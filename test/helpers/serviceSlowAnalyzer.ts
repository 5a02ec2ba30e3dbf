/**
 * An analyzer for service tests only (loaded through ONNXSCOPE_ANALYZER_MODULES): it takes as
 * long as asked, reporting progress and honouring the abort signal, so tests can catch a job
 * in RUNNING and kill, cancel or time it out.
 */
import type { Analyzer } from '../../analyzers/types.js';

const slow: Analyzer<{ ms: number; tag: string; otherModel: string }, { sleptMs: number; tag: string; inputs: number; otherSha256: string | null }> = {
  name: 'test-slow',
  version: 1,
  description: 'Sleeps for `ms` milliseconds, then writes its tag as artifact tag.txt (tests only).',
  needsDataset: false,
  params: [
    { name: 'ms', type: 'int', description: 'how long to take', default: 60_000, min: 0, max: 3_600_000 },
    { name: 'tag', type: 'string', description: 'any text, to make distinct cache keys', default: '' },
    { name: 'otherModel', type: 'string', description: 'id or sha256 of another stored model to load', default: '' },
  ],
  async run({ model, params, progress, signal, artifacts, resolveModel }) {
    const other = params.otherModel && resolveModel ? await resolveModel(params.otherModel) : null;
    const start = Date.now();
    while (Date.now() - start < params.ms) {
      if (signal.aborted) throw signal.reason;
      progress((Date.now() - start) / params.ms, 'sleeping');
      await new Promise((r) => setTimeout(r, 20));
    }
    if (params.tag) await artifacts?.write('tag.txt', new TextEncoder().encode(params.tag), 'text/plain');
    return { sleptMs: Date.now() - start, tag: params.tag, inputs: model.ir.graph.inputs.length, otherSha256: other?.sha256 ?? null };
  },
};

export default slow;
