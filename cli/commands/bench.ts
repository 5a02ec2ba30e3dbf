import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { AppError } from '../../common/errors.js';
import { loadModel } from '../../native/onnx/load.js';
import { loadDataset } from '../../datasets/index.js';
import { detectDatasetFormat } from '../../service/datasetFormat.js';
import { timeAutodiff } from '../../analyzers/common/autodiff-timing.js';
import { action } from '../exit.js';
import { readInputFile } from '../../common/inputFile.js';

interface BenchOptions {
  model: string;
  data: string;
  batch?: string;
  json?: boolean;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('Time one batch through the forward pass, the loss gradient and one exact Hessian-vector product.')
    .requiredOption('--model <file>', 'ONNX model file')
    .requiredOption('--data <file>', 'dataset (.npz, .csv or .zip of class folders) with labels')
    .option('--batch <n>', 'batch size (default: the whole dataset up to 256 samples)')
    .option('--json', 'print exactly one JSON object on stdout')
    .action(action((opts: BenchOptions) => bench(opts)));
}


async function bench(opts: BenchOptions): Promise<void> {
  const model = loadModel(await readInputFile(opts.model, '--model'));
  const bytes = await readInputFile(opts.data, '--data');
  const dataset = loadDataset(bytes, detectDatasetFormat(bytes, path.basename(opts.data)), createHash('sha256').update(bytes).digest('hex'));
  let batch: number | undefined;
  if (opts.batch !== undefined) {
    batch = Number(opts.batch);
    if (!Number.isInteger(batch) || batch < 1 || batch > 65536) throw new AppError('BAD_PARAMS', `--batch must be an integer in 1..65536, got ${opts.batch}`);
    if (batch > dataset.count) throw new AppError('BAD_PARAMS', `--batch ${batch} exceeds the dataset's ${dataset.count} samples`);
  }
  const t = await timeAutodiff(model, dataset, batch ? { batch } : {});
  const answer = { batch: t.batch, forwardMs: t.forwardMs, gradientMs: t.gradientMs, hvpMs: t.hvpMs };
  if (opts.json) process.stdout.write(`${JSON.stringify(answer)}\n`);
  else {
    process.stdout.write(
      `batch ${t.batch}, ${t.parameterCount} parameters (${t.precision})\n` +
        `  forward   ${t.forwardMs.toFixed(3)} ms\n` +
        `  gradient  ${t.gradientMs.toFixed(3)} ms  (${(t.gradientMs / t.forwardMs).toFixed(2)}x forward)\n` +
        `  hvp       ${t.hvpMs.toFixed(3)} ms  (${(t.hvpMs / t.forwardMs).toFixed(2)}x forward)\n`,
    );
  }
}
