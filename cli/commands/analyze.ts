import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { AppError } from '../../common/errors.js';
import { loadConfig } from '../../service/config.js';
import { createLogger } from '../../service/logger.js';
import { endOrphanedRun, openLocalServices, runLocally } from '../../service/local.js';
import { action } from '../exit.js';
import { isAnalysisChild, recordStarted, runInChild } from '../child.js';
import { collectParam } from '../options.js';
import { parseCliParams } from '../params.js';
import { progressPrinter } from '../input.js';
import { readInputFile } from '../../common/inputFile.js';
import { addPreprocessingOptions, preprocessingFromFlags, type PreprocessingFlags } from '../preprocessing.js';
import { printWarnings } from '../warnings.js';
import { warningsOf } from '../../service/jobs/execute.js';

interface AnalyzeOptions extends PreprocessingFlags {
  model: string;
  model2?: string;
  data?: string;
  param: string[];
  json?: boolean;
  out?: string;
  dataDir?: string;
}

export function registerAnalyze(program: Command): void {
  const cmd = program
    .command('analyze')
    .description('Run one analyzer on a model (and dataset), in this process, through the shared results cache.')
    .argument('<analyzer>', 'analyzer name (see the analyzers GraphQL query)')
    .requiredOption('--model <file>', 'ONNX model file')
    .option('--model2 <file>', 'a second model of the same architecture (landscape: interpolation, mode connectivity, CKA)')
    .option('--data <file>', 'dataset: .npz (x, y), .csv (label + features) or .zip of class folders')
    .option('--param <key=value>', 'analyzer parameter, repeatable', collectParam, [])
    .option('--json', 'print exactly one JSON object on stdout')
    .option('--out <dir>', 'also write result.json (and any artifacts) to this folder')
    .option('--data-dir <dir>', 'data dir with the cache (env ONNXSCOPE_DATA_DIR, default ./.onnxscope)');
  addPreprocessingOptions(cmd).action(action((name: string, opts: AnalyzeOptions) => analyze(name, opts)));
}

async function analyze(name: string, opts: AnalyzeOptions): Promise<void> {
  if (!isAnalysisChild()) {
    // The analysis itself runs in a child process, so a heap exhaustion or native abort becomes one line and exit 1.
    const outcome = await runInChild(`running ${name} on ${path.basename(opts.model)}${opts.data ? ` with ${path.basename(opts.data)}` : ''}`);
    if (outcome.orphan) {
      // The child died with its analysis RUNNING: end the row, so no reader of this data dir waits on it.
      await endOrphanedRun(loadConfig({ dataDir: opts.dataDir }).dataDir, outcome.orphan.analysisId, outcome.orphan.code, outcome.orphan.message);
    }
    process.exit(outcome.code);
  }
  const config = loadConfig({ dataDir: opts.dataDir });
  // stdout is reserved for the answer; logs go to stderr.
  const log = createLogger(process.env.ONNXSCOPE_LOG_LEVEL ?? 'warn', 2);
  const services = await openLocalServices(config);
  try {
    const analyzer = services.catalog.get(name);
    const params = parseCliParams(opts.param);
    const model = await services.models.ingest(await readInputFile(opts.model, '--model'), path.basename(opts.model, '.onnx'));
    if (opts.model2) {
      if (!analyzer.params.some((p) => p.name === 'otherModel')) throw new AppError('BAD_PARAMS', `--model2: analyzer ${analyzer.name} takes no second model`);
      const other = await services.models.ingest(await readInputFile(opts.model2, '--model2'), path.basename(opts.model2, '.onnx'));
      // By content hash, so the cache key does not depend on the order models were stored in.
      params.otherModel = other.sha256;
    }
    const preprocessing = await preprocessingFromFlags(opts);
    if (preprocessing && !opts.data) throw new AppError('BAD_PARAMS', '--scale, --mean, --std and --preprocess prepare a dataset: give it with --data');
    const dataset = opts.data
      ? await services.datasets.ingest({ bytes: await readInputFile(opts.data, '--data'), filename: path.basename(opts.data), preprocessing })
      : null;
    const started = performance.now();
    const progress = opts.json ? () => undefined : progressPrinter();
    const outcome = await runLocally(
      services,
      { modelId: model.id, datasetId: dataset?.id ?? null, analyzer: analyzer.name, params },
      progress,
      config.jobTimeoutMs,
      undefined,
      recordStarted,
    );
    const answer = {
      analyzer: analyzer.name,
      version: analyzer.version,
      cached: outcome.cached,
      durationMs: Math.round(performance.now() - started),
      result: outcome.result,
    };
    log.info({ analysisId: outcome.analysis.id, cached: outcome.cached }, 'analysis done');
    printWarnings(analyzer.name, warningsOf(outcome.result));
    if (opts.out) {
      const files = await services.analyses.artifacts(outcome.analysis);
      await writeOut(opts.out, answer, await Promise.all(files.map(async (f) => ({ name: f.name, bytes: await services.store.blobs.get(f.sha256) }))));
    }
    if (opts.json) process.stdout.write(`${JSON.stringify(answer)}\n`);
    else {
      process.stdout.write(`${analyzer.name} v${analyzer.version}${outcome.cached ? ' (cached)' : ''} in ${answer.durationMs} ms\n`);
      process.stdout.write(`${JSON.stringify(outcome.result, null, 2)}\n`);
    }
  } finally {
    await services.close();
  }
}


/** --out: result.json plus the analyzer's artifacts (from the cache too, on a cached answer). */
async function writeOut(dir: string, answer: object, artifacts: Array<{ name: string; bytes: Uint8Array }>): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'result.json'), `${JSON.stringify(answer, null, 2)}\n`);
  for (const a of artifacts) await fs.writeFile(path.join(dir, a.name), a.bytes);
}

