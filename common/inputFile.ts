/** Reading a file a user named on a command line or in a config (CLI flags, gate.yml). */
import { promises as fs } from 'node:fs';
import { badParams } from './errors.js';

/** The bytes of a file named by a flag; BAD_PARAMS naming the flag and file when it cannot be read. */
export async function readInputFile(file: string, flag: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await fs.readFile(file));
  } catch (err) {
    throw badParams(`${flag} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}
