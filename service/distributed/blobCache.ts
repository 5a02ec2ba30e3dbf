/**
 * A worker's copy of the server's blobs: content-addressed on the worker's disk (the same
 * BlobStore layout), each blob fetched from the server once, and verified by its sha256 both
 * when fetched and when read back (a corrupt cache file is fetched again).
 */
import path from 'node:path';
import { AppError } from '../../common/errors.js';
import { BlobStore, sha256Hex, type BlobReader, type BlobWriter } from '../../storage/blobs.js';
import type { ServerClient } from './serverClient.js';

export class BlobCache implements BlobReader {
  private readonly disk: BlobStore;

  constructor(cacheDir: string, private readonly server: ServerClient) {
    this.disk = new BlobStore(path.join(cacheDir, 'blobs'));
  }

  init(): Promise<void> {
    return this.disk.init();
  }

  async get(sha: string): Promise<Uint8Array> {
    if (await this.disk.has(sha)) {
      const cached = await this.disk.get(sha);
      if (sha256Hex(cached) === sha) return cached;
      await this.disk.remove(sha);
    }
    const bytes = await this.server.blob(sha);
    if (sha256Hex(bytes) !== sha) throw new AppError('INTERNAL', `blob ${sha} from the server does not match its hash`);
    await this.disk.put(bytes, sha);
    return bytes;
  }
}

/** Artifacts of one job, held until they go to the server with its result. */
export class ArtifactCollector implements BlobWriter {
  readonly bytes = new Map<string, Uint8Array>();

  async put(bytes: Uint8Array): Promise<string> {
    const sha = sha256Hex(bytes);
    this.bytes.set(sha, bytes);
    return sha;
  }
}
