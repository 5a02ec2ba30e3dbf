/**
 * Content-addressed blob store on disk: blobs/<sha[0..2]>/<sha>. The same bytes are stored
 * once. A blob is written to blobs/tmp, fsynced and renamed into place, so a reader never
 * sees a half-written file and a crash leaves at most a temp file (swept by gc()).
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export const SHA_RE = /^[0-9a-f]{64}$/;

/** What a job reads blobs through: the store itself, or a worker's cache of the server's blobs. */
export interface BlobReader {
  get(sha: string): Promise<Uint8Array>;
}

/** What artifacts are written to: the store itself, or a worker's collection sent with the result. */
export interface BlobWriter {
  put(bytes: Uint8Array): Promise<string>;
}

export class BlobStore implements BlobReader, BlobWriter {
  private readonly tmpDir: string;

  constructor(readonly root: string) {
    this.tmpDir = path.join(root, 'tmp');
  }

  async init(): Promise<void> {
    await fs.mkdir(this.tmpDir, { recursive: true });
  }

  pathOf(sha: string): string {
    if (!SHA_RE.test(sha)) throw new Error(`not a sha256: ${sha}`);
    return path.join(this.root, sha.slice(0, 2), sha);
  }

  async has(sha: string): Promise<boolean> {
    return fs.access(this.pathOf(sha)).then(
      () => true,
      () => false,
    );
  }

  /** Stores bytes (once) and returns their sha256. */
  async put(bytes: Uint8Array, sha = sha256Hex(bytes)): Promise<string> {
    const final = this.pathOf(sha);
    if (await this.has(sha)) return sha;
    await fs.mkdir(path.dirname(final), { recursive: true });
    const tmp = path.join(this.tmpDir, `${sha}.${randomBytes(6).toString('hex')}`);
    const handle = await fs.open(tmp, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await fs.rename(tmp, final);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
    return sha;
  }

  async get(sha: string): Promise<Uint8Array> {
    const buf = await fs.readFile(this.pathOf(sha));
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  async remove(sha: string): Promise<void> {
    await fs.rm(this.pathOf(sha), { force: true });
  }

  /** Every stored blob's sha256. */
  async list(): Promise<string[]> {
    const out: string[] = [];
    for (const dir of await fs.readdir(this.root)) {
      if (dir === 'tmp' || dir.length !== 2) continue;
      for (const name of await fs.readdir(path.join(this.root, dir))) if (SHA_RE.test(name)) out.push(name);
    }
    return out.sort();
  }

  /**
   * Removes temp files and blobs no row refers to (left by a crash between writing a blob and
   * inserting its row). Only files older than minAgeMs go, so an upload in flight in another
   * process (a CLI run beside the server) keeps its blob.
   */
  async gc(referenced: Set<string>, minAgeMs: number): Promise<string[]> {
    const cutoff = Date.now() - minAgeMs;
    const removed: string[] = [];
    const oldEnough = async (file: string) => (await fs.stat(file)).mtimeMs <= cutoff;
    for (const name of await fs.readdir(this.tmpDir)) {
      const file = path.join(this.tmpDir, name);
      if (await oldEnough(file)) await fs.rm(file, { force: true });
    }
    for (const sha of await this.list()) {
      if (referenced.has(sha) || !(await oldEnough(this.pathOf(sha)))) continue;
      await this.remove(sha);
      removed.push(sha);
    }
    return removed;
  }
}
