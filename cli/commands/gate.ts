/**
 * onnxscope gate: a CI quality gate. Runs the analyses a gate.yml names (embedded over the local
 * data dir, or on a server) and checks its rules. Exit 0 when every rule passes, 1 when any
 * fails or its analysis fails, 2 on a bad config or input (before anything runs).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { AppError } from '../../common/errors.js';
import { loadConfig } from '../../service/config.js';
import { AnalyzerCatalog } from '../../service/analyzerCatalog.js';
import { buildGraphQLSchema } from '../../resolvers/index.js';
import { loadGateConfig } from '../../gate/config.js';
import { embeddedBackend } from '../../gate/embedded.js';
import { remoteBackend } from '../../gate/remote.js';
import { runGate } from '../../gate/run.js';
import { renderTable } from '../../gate/report/table.js';
import { renderJunit } from '../../gate/report/junit.js';
import { renderMarkdown } from '../../gate/report/markdown.js';
import { action, EXIT_OK, EXIT_GATE_FAILED } from '../exit.js';
import { progressPrinter } from '../input.js';
import { addPreprocessingOptions, preprocessingFromFlags, type PreprocessingFlags } from '../preprocessing.js';
import { printWarnings } from '../warnings.js';

interface GateOptions extends PreprocessingFlags {
  config: string;
  model?: string;
  data?: string;
  baseline?: string;
  server?: string;
  token?: string;
  dataDir?: string;
  junit?: string;
  markdown?: string;
  report?: string;
  json?: boolean;
  timeout: string;
}

export function registerGate(program: Command): void {
  const cmd = program
    .command('gate')
    .description('CI quality gate: run the analyses of a gate config and check its rules (exit 0 pass, 1 fail, 2 bad config or input).')
    .requiredOption('--config <file>', 'gate config (YAML): analyses and rules, see gate/README.md')
    .option('--model <file>', 'the candidate model (replaces model: in the config)')
    .option('--data <file>', 'dataset (replaces data: in the config)')
    .option('--baseline <file>', 'baseline model for "baseline" rules (replaces baseline: in the config)')
    .option('--server <url>', 'run on this onnxscope server (its cache) instead of in this process')
    .option('--token <token>', 'bearer token for --server (env ONNXSCOPE_TOKEN)')
    .option('--data-dir <dir>', 'embedded: data dir with the cache (env ONNXSCOPE_DATA_DIR, default ./.onnxscope)')
    .option('--junit <file>', 'write a JUnit XML report (one test case per rule)')
    .option('--markdown <file>', 'append a Markdown summary (e.g. "$GITHUB_STEP_SUMMARY")')
    .option('--report <file>', 'write the full report as JSON')
    .option('--json', 'print the report as one JSON object on stdout instead of the table')
    .option('--timeout <seconds>', 'deadline for the whole gate; analyses still running then are cancelled (TIMEOUT)', '3600');
  addPreprocessingOptions(cmd).action(action((opts: GateOptions) => gate(opts)));
}

async function gate(opts: GateOptions): Promise<void> {
  const timeoutS = Number(opts.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new AppError('BAD_PARAMS', `--timeout ${opts.timeout}: expected a positive number of seconds`);
  if (opts.token && !opts.server) throw new AppError('BAD_PARAMS', '--token is for --server; without --server the gate runs in this process');
  if (opts.dataDir && opts.server) throw new AppError('BAD_PARAMS', '--data-dir is for the embedded gate; with --server the server keeps the cache');
  const config = loadConfig({ dataDir: opts.dataDir });
  const catalog = await AnalyzerCatalog.load(config.analyzerModules);
  // A server is asked which analyzers it runs; the embedded gate opens its data dir only once the config is good.
  const remote = opts.server ? remoteBackend(opts.server, opts.token || process.env.ONNXSCOPE_TOKEN || undefined) : null;
  let analyzers = catalog.list();
  if (remote) {
    const known = await remote.analyzers(analyzers);
    analyzers = known.analyzers;
    for (const w of known.warnings) process.stderr.write(`onnxscope: warning: ${w}\n`);
  }
  const preprocessing = await preprocessingFromFlags(opts);
  const gateConfig = loadGateConfig(opts.config, { model: opts.model, data: opts.data, baseline: opts.baseline, preprocessing }, {
    schema: await buildGraphQLSchema(),
    analyzers,
  });
  for (const a of gateConfig.analyses) {
    if (!gateConfig.rules.some((r) => r.analysis === a.key)) process.stderr.write(`onnxscope: warning: ${opts.config}:${a.line}: analyses.${a.key} has no rule; it runs but decides nothing\n`);
  }
  const backend = remote ?? (await embeddedBackend(config));
  // One signal for the whole gate: Ctrl-C or the deadline stops it, not just the analysis under way.
  const controller = new AbortController();
  const interrupt = () => controller.abort(new AppError('CANCELLED', 'interrupted'));
  const deadline = setTimeout(() => controller.abort(new AppError('TIMEOUT', `the gate exceeded --timeout ${opts.timeout} s`)), timeoutS * 1000);
  process.once('SIGINT', interrupt);
  let report;
  try {
    let progress: (fraction: number, message?: string) => void = () => undefined;
    report = await runGate(gateConfig, backend, {
      analysis: (i, n, what) => {
        if (opts.json) return;
        process.stderr.write(`[${i}/${n}] ${what}\n`);
        progress = progressPrinter();
      },
      progress: (fraction, message) => progress(fraction, message),
    }, controller.signal);
  } finally {
    clearTimeout(deadline);
    process.off('SIGINT', interrupt);
    await backend.close();
  }
  // Reports are rendered whole before any file is written, so none is left half-written.
  const files: Array<[string | undefined, string, 'write' | 'append']> = [
    [opts.junit, renderJunit(report), 'write'],
    [opts.markdown, renderMarkdown(report), 'append'],
    [opts.report, `${JSON.stringify(report, null, 2)}\n`, 'write'],
  ];
  for (const [file, text, mode] of files) {
    if (!file) continue;
    await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
    if (mode === 'append') await fs.appendFile(file, text);
    else await fs.writeFile(file, text);
  }
  for (const a of report.analyses) printWarnings(`${a.analysis}${a.label ? ` [${a.label}]` : ''}${a.role === 'baseline' ? ' (baseline)' : ''}`, a.warnings);
  process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : renderTable(report));
  process.exitCode = report.passed ? EXIT_OK : EXIT_GATE_FAILED;
}
