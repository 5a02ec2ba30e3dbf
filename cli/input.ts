/** What every subcommand does with its file arguments and long runs. */
import { promises as fs } from 'node:fs';
import { badParams } from '../common/errors.js';

/** The bytes of a file named by a flag; BAD_PARAMS naming the flag and file when it cannot be read. */
export async function readInputFile(file: string, flag: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await fs.readFile(file));
  } catch (err) {
    throw badParams(`${flag} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

/** Progress on stderr, one line per 10 %, for people watching a terminal. */
export function progressPrinter(): (fraction: number, message?: string) => void {
  let lastTenth = -1;
  return (fraction, message) => {
    const tenth = Math.floor(fraction * 10);
    if (tenth === lastTenth) return;
    lastTenth = tenth;
    process.stderr.write(`  ${Math.round(fraction * 100)}%${message ? ` ${message}` : ''}\n`);
  };
}
