/**
 * Reading a zoo upload: a zip of ONNX files, with its manifest given beside it or inside it
 * (manifest.json / manifest.csv, the shallowest), and files matched by path, else by unique
 * base name. Declared sizes are checked before anything inflates (zip bombs).
 */
import { unzipWithin } from '../common/zip.js';
import { AppError } from '../common/errors.js';

export interface ZooUpload {
  manifest: { text: string; filename: string };
  /** Bytes of a file the manifest names (relative path as written there). */
  readFile: (file: string) => Promise<Uint8Array>;
}

export function readZooArchive(given: { text: string; filename: string } | null, zip: Uint8Array, maxBytes: number): ZooUpload {
  // Directory entries are not files; the rest must fit maxBytes inflated.
  const files = unzipWithin(zip, maxBytes, {
    unreadable: (why) => new AppError('BAD_PARAMS', `zoo archive: not a readable zip (${why})`),
    tooLarge: () => new AppError('TOO_LARGE', `the zoo archive inflates to more than ${maxBytes} bytes`),
  }, (name) => !name.endsWith('/'));
  const norm = (p: string) => p.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
  const byPath = new Map(Object.entries(files).map(([k, v]) => [norm(k), v]));
  // Without a separate manifest, the archive carries one (manifest.json / manifest.csv, the
  // shallowest), and the files it names are relative to its folder.
  let manifest = given;
  let base = '';
  if (!manifest) {
    const found = [...byPath.keys()].filter((k) => /(^|\/)manifest\.(json|csv)$/i.test(k)).sort((a, b) => a.split('/').length - b.split('/').length)[0];
    if (!found) throw new AppError('BAD_PARAMS', 'zoo archive: no manifest given and none (manifest.json or manifest.csv) inside the archive');
    manifest = { text: new TextDecoder().decode(byPath.get(found)!), filename: found };
    base = found.includes('/') ? found.slice(0, found.lastIndexOf('/') + 1) : '';
  }
  const readFile = async (file: string) => {
    const exact = byPath.get(norm(base + norm(file))) ?? byPath.get(norm(file));
    if (exact) return exact;
    const leaf = norm(file).split('/').pop()!;
    const hits = [...byPath.entries()].filter(([k]) => k.split('/').pop() === leaf);
    if (hits.length === 1) return hits[0]![1];
    throw new AppError('BAD_PARAMS', `zoo archive: ${hits.length === 0 ? 'no file' : 'several files'} matching ${file}`, { file });
  };
  return { manifest, readFile };
}
