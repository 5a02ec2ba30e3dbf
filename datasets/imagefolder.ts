/**
 * Image-folder datasets (torchvision's ImageFolder layout) in a zip: CLASS/IMAGE.png, possibly
 * under one common top folder. Classes are the folder names in sorted order, so label i means
 * the i-th name in `classes`. PNG only (decoded by pngjs); other image types are refused by
 * name rather than skipped, so a dataset is never silently smaller than uploaded.
 *
 * Samples are CHW float32 pixels 0..255 as decoded, resized to one common size; scaling and
 * normalization are preprocessing (datasets/preprocess.ts), whose default for image folders
 * is pixels / 255 (datasets/index.ts).
 */
import { PNG } from 'pngjs';
import type { LoadedDataset } from './types.js';
import { badDataset, checkLimit, resolveLimits, type DatasetLimits } from './limits.js';
import { unzipChecked } from './npz.js';
import { convertChannels, resizeBilinear, resizeNearest } from './resize.js';
import { classIndices } from './labels.js';
import type { ResizeMode } from './preprocessing.js';

export interface ImageFolderOptions extends DatasetLimits {
  /** [H, W] to resize every image to; default the first image's size. */
  size?: [number, number];
  /** How to resize (default bilinear). */
  resizeMode?: ResizeMode;
  /** 1 or 3; default 1 when every image is gray, else 3. */
  channels?: 1 | 3;
  /** Class (folder) names in index order; default sorted. */
  classes?: string[];
}

const IMAGE_EXT = /\.(png|jpe?g|gif|bmp|webp|tiff?)$/i;
const IGNORED = (path: string) => path.startsWith('__MACOSX/') || path.split('/').some((p) => p.startsWith('.'));

interface Decoded {
  path: string;
  className: string;
  width: number;
  height: number;
  rgba: Uint8Array;
}

export function loadImageFolder(bytes: Uint8Array, sha256: string, opts: ImageFolderOptions = {}): LoadedDataset {
  const lim = resolveLimits(opts);
  const files = unzipChecked(bytes, 'image folder zip', lim);
  const paths = Object.keys(files)
    .filter((p) => !p.endsWith('/') && !IGNORED(p) && IMAGE_EXT.test(p))
    .sort();
  if (paths.length === 0) throw badDataset('the zip holds no images; expected CLASS/IMAGE.png entries');
  const notPng = paths.filter((p) => !/\.png$/i.test(p));
  if (notPng.length > 0) throw badDataset(`only PNG images are supported; found ${notPng.slice(0, 3).join(', ')}${notPng.length > 3 ? ` and ${notPng.length - 3} more` : ''}`);
  checkLimit('image count', paths.length, lim.maxSamples);

  // A common top folder (zip of the dataset directory itself) is not a class level.
  const parts = paths.map((p) => p.split('/'));
  const depth = parts[0]!.length;
  if (parts.some((p) => p.length !== depth)) throw badDataset('images sit at different folder depths; expected CLASS/IMAGE.png for every image');
  if (depth < 2) throw badDataset(`image ${paths[0]} is not inside a class folder; expected CLASS/IMAGE.png`);
  const top = depth > 2 ? parts[0]!.slice(0, depth - 2).join('/') : null;
  if (top !== null && parts.some((p) => p.slice(0, depth - 2).join('/') !== top)) {
    throw badDataset('images sit under different top folders; expected one folder of class folders');
  }

  const decoded: Decoded[] = paths.map((path, i) => {
    let png: PNG;
    try {
      png = PNG.sync.read(Buffer.from(files[path]!));
    } catch (err) {
      throw badDataset(`${path}: not a readable PNG (${(err as Error).message})`);
    }
    return { path, className: parts[i]![depth - 2]!, width: png.width, height: png.height, rgba: png.data };
  });

  const { y, classes, order } = classIndices(decoded.map((d) => d.className), opts.classes, (i) => decoded[i]!.path);
  const [outH, outW] = opts.size ?? [decoded[0]!.height, decoded[0]!.width];
  if (!(outH > 0 && outW > 0 && Number.isInteger(outH) && Number.isInteger(outW))) throw badDataset(`bad image size [${outH}, ${outW}]`);
  const allGray = decoded.every(isGray);
  const channels = opts.channels ?? (allGray ? 1 : 3);
  const per = channels * outH * outW;
  checkLimit('value count', per * decoded.length, lim.maxValues);

  const resize = opts.resizeMode === 'nearest' ? resizeNearest : resizeBilinear;
  const x = new Float32Array(per * decoded.length);
  decoded.forEach((d, i) => {
    const chw = toChw(d, allGray ? 1 : 3);
    const sized = resize(chw, allGray ? 1 : 3, d.height, d.width, outH, outW);
    x.set(convertChannels(sized, allGray ? 1 : 3, outH * outW, channels), i * per);
  });
  return { sha256, format: 'imagefolder', count: decoded.length, sampleShape: [channels, outH, outW], x, y, yShape: [], classes, chwImages: true, sourceDtype: 'uint8', labelNote: `class folder names mapped to indices ${order}` };
}

function isGray(d: Decoded): boolean {
  const p = d.rgba;
  for (let i = 0; i < p.length; i += 4) if (p[i] !== p[i + 1] || p[i] !== p[i + 2]) return false;
  return true;
}

/** Raw 0..255 values as CHW (alpha dropped). */
function toChw(d: Decoded, c: number): Float32Array {
  const plane = d.width * d.height;
  const out = new Float32Array(c * plane);
  for (let i = 0; i < plane; i++) for (let ch = 0; ch < c; ch++) out[ch * plane + i] = d.rgba[i * 4 + ch]!;
  return out;
}
