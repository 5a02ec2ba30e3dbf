/** Which dataset format an upload is: by file name, else by content (zip of .npy = npz, other zip = image folders). */
import { unzipSync } from 'fflate';
import { AppError } from '../common/errors.js';
import type { DatasetFormat } from '../storage/records.js';

export function detectDatasetFormat(bytes: Uint8Array, filename: string | undefined): DatasetFormat {
  const ext = filename?.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1];
  if (ext === 'npz') return 'npz';
  if (ext === 'csv') return 'csv';
  const isZip = bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
  if (isZip) {
    const names: string[] = [];
    try {
      // The filter sees every entry's name and declines to inflate any of them.
      unzipSync(bytes, { filter: (f) => (names.push(f.name), false) });
    } catch (err) {
      throw new AppError('BAD_DATASET', `not a readable zip archive: ${(err as Error).message}`);
    }
    return names.length > 0 && names.every((n) => n.endsWith('.npy')) ? 'npz' : 'imagefolder';
  }
  if (ext === 'zip') throw new AppError('BAD_DATASET', 'the .zip file is not a zip archive');
  if (looksLikeText(bytes)) return 'csv';
  throw new AppError('BAD_DATASET', `cannot tell the dataset format of ${filename ?? 'the upload'}: expected .npz, .csv or a .zip of image folders`);
}

function looksLikeText(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 4096);
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b === 0 || (b < 0x09) || (b > 0x0d && b < 0x20)) return false;
  }
  return true;
}
