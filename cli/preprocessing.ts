/** The preprocessing flags `analyze` and `gate` share: --preprocess spec.json, then --scale, --mean, --std over it. */
import type { Command } from 'commander';
import { badParams } from '../common/errors.js';
import { isEmptyPreprocessing, parsePreprocessing, type Preprocessing } from '../datasets/preprocessing.js';
import { readInputFile } from '../common/inputFile.js';

export interface PreprocessingFlags {
  preprocess?: string;
  scale?: string;
  mean?: string;
  std?: string;
}

export function addPreprocessingOptions(cmd: Command): Command {
  return cmd
    .option('--preprocess <file>', 'dataset preprocessing as JSON: scale, mean, std, channelOrder, layout, resize, dtype, labelColumn, classes, expectedRange')
    .option('--scale <number>', 'multiply the dataset values first, e.g. 1/255 for 0..255 pixels')
    .option('--mean <list>', 'subtract per channel after scaling, e.g. 0.485,0.456,0.406')
    .option('--std <list>', 'divide per channel after the mean, e.g. 0.229,0.224,0.225');
}

/** The spec the flags give (null when they give none); BAD_PARAMS naming the flag or key on a bad value. */
export async function preprocessingFromFlags(flags: PreprocessingFlags): Promise<Preprocessing | null> {
  let base: unknown = {};
  if (flags.preprocess) {
    const text = new TextDecoder().decode(await readInputFile(flags.preprocess, '--preprocess'));
    try {
      base = JSON.parse(text) as unknown;
    } catch (err) {
      throw badParams(`--preprocess ${flags.preprocess}: not JSON (${(err as Error).message})`);
    }
  }
  const fromFile = parsePreprocessing(base, flags.preprocess ? `--preprocess ${flags.preprocess}` : 'preprocessing');
  const spec = { ...fromFile, ...parsePreprocessing({ scale: flags.scale, mean: flags.mean, std: flags.std }, 'flags --scale/--mean/--std') };
  return isEmptyPreprocessing(spec) ? null : spec;
}
