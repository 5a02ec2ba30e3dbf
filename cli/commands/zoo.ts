/**
 * `onnxscope zoo ...`: model zoos from the command line, embedded (in this process, the same
 * data dir and results cache as the server).
 *   zoo add --manifest FILE            create a zoo (files resolved relative to the manifest)
 *   zoo list                           the zoos
 *   zoo analyze ZOO --data FILE        batch analysis with a progress line; Ctrl-C stops, the
 *                                      same command again resumes where it stopped
 *   zoo show ZOO [--sort M]            models, metrics and phase labels
 *   zoo diagram ZOO --metric M --out F phase diagram SVG
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { AppError } from '../../common/errors.js';
import { loadConfig, type Config } from '../../service/config.js';
import { openLocalServices, type LocalServices } from '../../service/local.js';
import { type ZooModelView, type ZooProgress, type ZooService } from '../../service/zooService.js';
import { METRIC_NAMES, type PhaseThresholds } from '../../service/zooPhases.js';
import { action } from '../exit.js';
import { collectParam } from '../options.js';
import { parseCliParams } from '../params.js';
import { readInputFile } from '../../common/inputFile.js';

interface Common {
  dataDir?: string;
  json?: boolean;
}

export function registerZoo(program: Command): void {
  const zoo = program.command('zoo').description('Model zoos: populations of models with hyperparameters, batch analysis, phase metrics.');
  zoo
    .command('add')
    .description('Create a zoo from a manifest (JSON or CSV: file + hyperparameters); files are relative to the manifest.')
    .requiredOption('--manifest <file>', 'manifest.json or manifest.csv')
    .option('--name <name>', 'zoo name (default: the manifest name, else a timestamp)')
    .option('--json', 'print exactly one JSON object on stdout')
    .option('--data-dir <dir>', 'data dir (env ONNXSCOPE_DATA_DIR, default ./.onnxscope)')
    .action(action((opts: Common & { manifest: string; name?: string }) => withZoos(opts, (z) => add(z, opts))));
  zoo
    .command('list')
    .description('List the zoos.')
    .option('--json', 'print exactly one JSON object on stdout')
    .option('--data-dir <dir>', 'data dir')
    .action(action((opts: Common) => withZoos(opts, (z) => list(z, opts))));
  zoo
    .command('analyze')
    .description('Analyze every model of a zoo (one analysis per model and analyzer; cached ones skipped; resumes an interrupted run).')
    .argument('<zoo>', 'zoo id or name')
    .requiredOption('--data <file>', 'training set (.npz, .csv, .zip)')
    .option('--test-data <file>', 'test set: evaluate reports test loss and accuracy')
    .option('--analyzers <list>', 'comma-separated analyzers', 'evaluate,hessian,landscape')
    .option('--param <analyzer.key=value>', 'analyzer parameter, repeatable (e.g. hessian.maxIter=30)', collectParam, [])
    .option('--concurrency <n>', 'analyses at once', '2')
    .option('--json', 'print exactly one JSON object on stdout')
    .option('--data-dir <dir>', 'data dir')
    .action(action((ref: string, opts: AnalyzeOptions) => withZoos(opts, (z, s, c) => analyze(z, s, ref, opts, c.jobTimeoutMs))));
  zoo
    .command('show')
    .description('Models of a zoo with their metrics and phase labels.')
    .argument('<zoo>', 'zoo id or name')
    .option('--sort <key>', `metric (${METRIC_NAMES.join(', ')}) or hyperparameter`)
    .option('--desc', 'sort descending')
    .option('--phase <label>', 'only models with this phase label (I, II, III, IV, IV-A, IV-B)')
    .option('--threshold <key=value>', 'phase threshold (lossThreshold, sharpnessThreshold, mcTolerance, ckaThreshold), repeatable', collectParam, [])
    .option('--json', 'print exactly one JSON object on stdout')
    .option('--data-dir <dir>', 'data dir')
    .action(action((ref: string, opts: ShowOptions) => withZoos(opts, (z) => show(z, ref, opts))));
  zoo
    .command('diagram')
    .description('Write a phase diagram (heatmap SVG) of one metric over two hyperparameters.')
    .argument('<zoo>', 'zoo id or name')
    .requiredOption('--metric <name>', METRIC_NAMES.join(', '))
    .requiredOption('--out <file>', 'SVG file to write')
    .option('--x <hyperparameter>', 'x axis (default: the zoo load axis)')
    .option('--y <hyperparameter>', 'y axis (default: the zoo temperature axis)')
    .option('--threshold <key=value>', 'phase threshold, repeatable', collectParam, [])
    .option('--data-dir <dir>', 'data dir')
    .action(action((ref: string, opts: DiagramOptions) => withZoos(opts, (z) => diagram(z, ref, opts))));
}

interface AnalyzeOptions extends Common {
  data: string;
  testData?: string;
  analyzers: string;
  param: string[];
  concurrency: string;
}
interface ShowOptions extends Common {
  sort?: string;
  desc?: boolean;
  phase?: string;
  threshold: string[];
}
interface DiagramOptions extends Common {
  metric: string;
  out: string;
  x?: string;
  y?: string;
  threshold: string[];
}

async function withZoos(opts: Common, fn: (zoos: ZooService, services: LocalServices, config: Config) => Promise<void>): Promise<void> {
  const config = loadConfig({ dataDir: opts.dataDir });
  const services = await openLocalServices(config);
  try {
    await fn(services.zoos, services, config);
  } finally {
    await services.close();
  }
}

const out = (obj: unknown) => process.stdout.write(`${JSON.stringify(obj)}\n`);


async function add(zoos: ZooService, opts: Common & { manifest: string; name?: string }): Promise<void> {
  const text = new TextDecoder().decode(await readInputFile(opts.manifest, '--manifest'));
  const dir = path.dirname(path.resolve(opts.manifest));
  const zoo = await zoos.createZoo({
    name: opts.name ?? null,
    manifest: { text, filename: path.basename(opts.manifest) },
    readFile: (f) => readInputFile(path.resolve(dir, f), 'manifest file'),
  });
  const members = await zoos.members(zoo.id);
  if (opts.json) out({ zoo: { id: zoo.id, name: zoo.name, axes: zoo.axes, models: members.length } });
  else process.stdout.write(`zoo ${zoo.name} (${zoo.id}): ${members.length} models; axes load=${zoo.axes.load ?? '-'} temperature=${zoo.axes.temperature ?? '-'}\n`);
}

async function list(zoos: ZooService, opts: Common): Promise<void> {
  const all = await Promise.all((await zoos.list()).map(async (z) => ({ id: z.id, name: z.name, axes: z.axes, models: (await zoos.members(z.id)).length })));
  if (opts.json) out({ zoos: all });
  else for (const z of all) process.stdout.write(`${z.id}  ${z.name}  ${z.models} models\n`);
}

async function analyze(zoos: ZooService, services: LocalServices, ref: string, opts: AnalyzeOptions, itemTimeoutMs: number): Promise<void> {
  const zoo = await zoos.get(ref);
  const analyzers = opts.analyzers.split(',').map((s) => s.trim()).filter(Boolean);
  const params: Record<string, Record<string, unknown>> = {};
  const raw = new Map<string, string[]>();
  for (const p of opts.param) {
    const m = /^([^.=]+)\.([^=]+=.*)$/.exec(p);
    if (!m) throw new AppError('BAD_PARAMS', `--param ${p}: expected analyzer.key=value`);
    raw.set(m[1]!, [...(raw.get(m[1]!) ?? []), m[2]!]);
  }
  for (const [name, pairs] of raw) {
    services.catalog.get(name); // an unknown analyzer is refused here, before any work
    params[name] = parseCliParams(pairs);
  }
  const concurrency = Number(opts.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new AppError('BAD_PARAMS', `--concurrency ${opts.concurrency}: expected a positive integer`);
  const train = await services.datasets.ingest({ bytes: await readInputFile(opts.data, '--data'), filename: path.basename(opts.data) });
  const test = opts.testData ? await services.datasets.ingest({ bytes: await readInputFile(opts.testData, '--test-data'), filename: path.basename(opts.testData) }) : null;
  const run = await zoos.startRun({ zooId: zoo.id, analyzers, params, datasetId: train.id, testDatasetId: test?.id ?? null, concurrency });
  const controller = new AbortController();
  const interrupt = () => controller.abort(new AppError('CANCELLED', 'interrupted'));
  process.once('SIGINT', interrupt);
  const started = performance.now();
  let p: ZooProgress;
  try {
    p = await zoos.runEmbedded(run.id, opts.json ? () => undefined : progressLine(), controller.signal, itemTimeoutMs);
  } finally {
    process.off('SIGINT', interrupt);
  }
  if (!opts.json) process.stderr.write('\n');
  const failures = (await zoos.failures(run.id)).map((f) => ({ modelId: f.modelId, analyzer: f.analyzer, role: f.role, code: f.error?.code, message: f.error?.message }));
  const durationMs = Math.round(performance.now() - started);
  if (opts.json) out({ run: run.id, zoo: zoo.id, finished: p.pending === 0, progress: p, failures, durationMs });
  else {
    process.stdout.write(`run ${run.id}: ${p.text} done (${p.cached} cached, ${p.failed} failed) in ${durationMs} ms\n`);
    for (const f of failures) process.stdout.write(`  FAILED ${f.analyzer} ${f.role} model ${f.modelId}: ${f.code}: ${f.message}\n`);
  }
  if (controller.signal.aborted) throw new AppError('CANCELLED', `interrupted at ${p.text}; run the same command again to resume`);
}

/** One rewritten line on stderr: a bar, "k of N", and what just finished. */
function progressLine() {
  return (p: ZooProgress, last: { analyzer: string; role: string } | null) => {
    const width = 30;
    const filled = p.total ? Math.round((p.done / p.total) * width) : width;
    const what = last ? ` ${last.analyzer} ${last.role.startsWith('pair:') ? 'pair' : last.role}` : '';
    process.stderr.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${p.text}${p.failed ? ` (${p.failed} failed)` : ''}${what}\x1b[K`);
  };
}

function thresholds(pairs: string[]): Partial<PhaseThresholds> {
  const t: Record<string, number> = {};
  for (const pair of pairs) {
    const [k, v] = [pair.slice(0, pair.indexOf('=')), Number(pair.slice(pair.indexOf('=') + 1))];
    if (!['lossThreshold', 'sharpnessThreshold', 'mcTolerance', 'ckaThreshold'].includes(k) || !Number.isFinite(v)) {
      throw new AppError('BAD_PARAMS', `--threshold ${pair}: expected lossThreshold|sharpnessThreshold|mcTolerance|ckaThreshold=NUMBER`);
    }
    t[k] = v;
  }
  return t;
}

async function show(zoos: ZooService, ref: string, opts: ShowOptions): Promise<void> {
  const zoo = await zoos.get(ref);
  const views = await zoos.modelViews(zoo.id, { sortBy: opts.sort ?? null, descending: !!opts.desc, phase: opts.phase ?? null, thresholds: thresholds(opts.threshold) });
  if (opts.json) {
    out({ zoo: { id: zoo.id, name: zoo.name, axes: zoo.axes }, models: views.map(viewJson) });
    return;
  }
  const cols = ['trainLoss', 'testAccuracy', 'hessianTop', 'hessianTrace', 'mc', 'cka', 'weightsAlpha'] as const;
  const num = (v: number | null) => (v === null ? '-' : Number(v.toPrecision(4)).toString());
  process.stdout.write(`${['file', 'hyperparameters', ...cols, 'phase'].join('\t')}\n`);
  for (const v of views) {
    const hp = Object.entries(v.member.hyperparameters).map(([k, x]) => `${k}=${x}`).join(',');
    process.stdout.write(`${[v.member.file, hp, ...cols.map((c) => num(v.metrics[c])), v.phase.label ?? `- (${v.phase.reason})`].join('\t')}\n`);
  }
}

const viewJson = (v: ZooModelView) => ({
  modelId: v.model.id, file: v.member.file, hyperparameters: v.member.hyperparameters, partnerModelId: v.partnerModelId, metrics: v.metrics, phase: v.phase,
});

async function diagram(zoos: ZooService, ref: string, opts: DiagramOptions): Promise<void> {
  const d = await zoos.diagram(ref, opts.metric, { x: opts.x ?? null, y: opts.y ?? null, thresholds: thresholds(opts.threshold) });
  await fs.writeFile(opts.out, d.svg);
  process.stdout.write(`wrote ${opts.out}: ${d.metric} over ${d.xAxis} (${d.xValues.join(', ')}) x ${d.yAxis} (${d.yValues.join(', ')})\n`);
}
