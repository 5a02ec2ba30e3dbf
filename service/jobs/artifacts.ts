/**
 * Collects an analyzer's artifacts (PNG, SVG, npz) into the blob store; every SVG plot is also
 * stored as a PNG beside it (same name, .png), rendered here. The blobs are written as
 * they come; their rows are filed with the result in one transaction (AnalysisRepo.complete),
 * so a job that dies leaves at most unreferenced blobs, which gc removes.
 */
import type { ArtifactSink } from '../../analyzers/types.js';
import { AppError } from '../../common/errors.js';
import type { BlobWriter } from '../../storage/blobs.js';
import type { ArtifactRecord } from '../../storage/records.js';
import { svgToPng } from './svgToPng.js';

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export class BlobArtifactSink implements ArtifactSink {
  private readonly byName = new Map<string, ArtifactRecord>();

  constructor(private readonly blobs: BlobWriter) {}

  async write(name: string, bytes: Uint8Array, mimeType: string): Promise<void> {
    // Names become URL path segments and file names under --out: plain names only.
    if (!FILE_NAME.test(name)) throw new AppError('INTERNAL', `artifact name "${name}" is not a plain file name`);
    await this.put(name, bytes, mimeType);
    if (mimeType === 'image/svg+xml' && name.endsWith('.svg')) await this.put(`${name.slice(0, -4)}.png`, svgToPng(bytes), 'image/png');
  }

  private async put(name: string, bytes: Uint8Array, mimeType: string): Promise<void> {
    const sha256 = await this.blobs.put(bytes);
    this.byName.set(name, { name, sha256, mimeType, sizeBytes: bytes.length });
  }

  stored(): ArtifactRecord[] {
    return [...this.byName.values()];
  }
}
