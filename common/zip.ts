/**
 * The one zip-bomb guard: a zip is inflated only after the sizes its entries declare add up to at
 * most maxBytes (a first pass reads the directory without inflating anything), so an archive
 * that would expand past the limit is refused before it does. Used for npz datasets and zoo uploads.
 */
import { unzipSync } from 'fflate';

export interface ZipFailures {
  /** The archive cannot be read: at the directory scan ('scan') or while inflating ('inflate'). */
  unreadable(why: string, phase: 'scan' | 'inflate'): Error;
  /** The declared sizes add up to more than the limit. */
  tooLarge(declared: number): Error;
}

export function unzipWithin(bytes: Uint8Array, maxBytes: number, fail: ZipFailures, keep: (name: string) => boolean = () => true): Record<string, Uint8Array> {
  let declared = 0;
  try {
    unzipSync(bytes, {
      filter: (f) => {
        if (keep(f.name)) declared += f.originalSize;
        return false;
      },
    });
  } catch (err) {
    throw fail.unreadable((err as Error).message, 'scan');
  }
  if (declared > maxBytes) throw fail.tooLarge(declared);
  try {
    return unzipSync(bytes, { filter: (f) => keep(f.name) });
  } catch (err) {
    throw fail.unreadable((err as Error).message, 'inflate');
  }
}
