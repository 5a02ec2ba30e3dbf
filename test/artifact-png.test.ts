/**
 * Every SVG plot an analyzer writes is also stored as a PNG beside it (server-side rendering),
 * checked pixel by pixel on a drawing whose colours and geometry are known.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { BlobStore } from '../storage/blobs.js';
import { BlobArtifactSink } from '../service/jobs/artifacts.js';
import { svgToPng } from '../service/jobs/svgToPng.js';

// 40 x 20: a red square on the left half, the right half left empty (white background).
const SVG = new TextEncoder().encode(
  '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect x="0" y="0" width="20" height="20" fill="#ff0000"/></svg>',
);

const pixel = (png: PNG, x: number, y: number) => [...png.data.subarray((y * png.width + x) * 4, (y * png.width + x) * 4 + 4)];

test('svgToPng renders at twice the SVG size, colours where the SVG puts them', () => {
  const png = PNG.sync.read(Buffer.from(svgToPng(SVG)));
  assert.equal(png.width, 80);
  assert.equal(png.height, 40);
  assert.deepEqual(pixel(png, 10, 20), [255, 0, 0, 255]);
  assert.deepEqual(pixel(png, 60, 20), [255, 255, 255, 255]);
});

test('the artifact sink stores a PNG beside every SVG, and nothing beside other files', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-png-'));
  try {
    const blobs = new BlobStore(dir);
    await blobs.init();
    const sink = new BlobArtifactSink(blobs);
    await sink.write('density.svg', SVG, 'image/svg+xml');
    await sink.write('eigenvectors.npz', Uint8Array.of(1, 2, 3), 'application/zip');
    const stored = new Map(sink.stored().map((a) => [a.name, a]));
    assert.deepEqual([...stored.keys()].sort(), ['density.png', 'density.svg', 'eigenvectors.npz']);
    assert.equal(stored.get('density.png')!.mimeType, 'image/png');
    const png = PNG.sync.read(Buffer.from(await blobs.get(stored.get('density.png')!.sha256)));
    assert.deepEqual([png.width, png.height], [80, 40]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
