/**
 * onnxscope verify --model M --vnnlib P [--timeout S] [--json]: the safety analyzer on one
 * VNNLIB property, in this process. Verdicts depend on the time budget, so verify always runs
 * the check (never the results cache): "cached" is false.
 */
import type { Command } from 'commander';
import { AppError } from '../../common/errors.js';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { loadModel } from '../../native/onnx/load.js';
import { validateParams } from '../../analyzers/params.js';
import { safetyAnalyzer, type SafetyParams, type SafetyResult } from '../../analyzers/safety/index.js';
import { vnncompResultText } from '../../analyzers/safety/vnncomp.js';
import { action } from '../exit.js';
import { progressPrinter } from '../input.js';
import { readInputFile } from '../../common/inputFile.js';

interface VerifyOptions {
  model: string;
  vnnlib: string;
  timeout?: string;
  seed?: string;
  threads?: string;
  json?: boolean;
  resultFile?: string;
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('Check a VNNLIB property: holds (proved), violated (with a counterexample re-checked by ONNX Runtime) or unknown.')
    .requiredOption('--model <file>', 'ONNX model file')
    .requiredOption('--vnnlib <file>', 'VNNLIB property (asserts the unsafe set)')
    .option('--timeout <seconds>', 'time budget in seconds (default 60)')
    .option('--seed <n>', 'seed of the random restarts (default 0)')
    .option('--threads <n>', 'threads for the batched input-splitting bounds (default 1)')
    .option('--json', 'print exactly one JSON object on stdout')
    .option('--result-file <file>', 'also write the VNN-COMP result file (sat with the assignment / unsat / timeout / unknown)')
    .action(action((opts: VerifyOptions) => verify(opts)));
}


async function verify(opts: VerifyOptions): Promise<void> {
  const bytes = await readInputFile(opts.model, '--model');
  const text = new TextDecoder().decode(await readInputFile(opts.vnnlib, '--vnnlib'));
  const raw: Record<string, unknown> = { vnnlib: text };
  if (opts.timeout !== undefined) raw.timeout = opts.timeout;
  if (opts.seed !== undefined) raw.seed = opts.seed;
  if (opts.threads !== undefined) raw.threads = opts.threads;
  const params = validateParams(safetyAnalyzer.params, raw) as SafetyParams;
  const ir = loadModel(bytes);
  const controller = new AbortController();
  const interrupt = () => controller.abort(new AppError('CANCELLED', 'interrupted'));
  process.once('SIGINT', interrupt);
  const started = performance.now();
  let result: SafetyResult;
  try {
    result = await safetyAnalyzer.run({
      model: { sha256: createHash('sha256').update(bytes).digest('hex'), bytes, ir },
      dataset: null,
      params,
      progress: opts.json ? () => undefined : progressPrinter(),
      signal: controller.signal,
    });
  } finally {
    process.off('SIGINT', interrupt);
  }
  if (opts.resultFile) {
    // Written next to the target and renamed into place: a reader never sees half a file.
    const tmp = `${opts.resultFile}.${process.pid}.tmp`;
    await fs.writeFile(tmp, vnncompResultText(result));
    await fs.rename(tmp, opts.resultFile);
  }
  const answer = {
    analyzer: safetyAnalyzer.name,
    version: safetyAnalyzer.version,
    cached: false,
    durationMs: Math.round(performance.now() - started),
    result,
  };
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(answer)}\n`);
    return;
  }
  const check = result.checks[0]!;
  process.stdout.write(`${result.status} (${check.method}) in ${answer.durationMs} ms\n`);
  if (check.counterexample) {
    process.stdout.write(`counterexample: disjunct ${check.counterexample.disjunct}, score ${check.counterexample.score}\n`);
    process.stdout.write(`output: [${check.counterexample.output.map((v) => v.toPrecision(6)).join(', ')}]\n`);
  }
  if (check.lowerBound !== null) process.stdout.write(`proven lower bound of the violation score: ${check.lowerBound}\n`);
  if (check.searchBest !== null) process.stdout.write(`lowest violation score found by search: ${check.searchBest}\n`);
  if (check.domainsPerSecond !== null) process.stdout.write(`batched input splitting: ${check.domainsPerSecond} domains/s\n`);
  process.stdout.write(`domains ${check.domains}, MILP calls ${check.milpCalls}, forward passes ${check.evaluations}\n`);
  for (const n of [...check.notes, ...result.notes]) process.stdout.write(`note: ${n}\n`);
}

