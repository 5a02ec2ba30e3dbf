/** Models: ingest uploaded bytes (checked in JavaScript before anything else sees them), look them up. */
import { randomUUID } from 'node:crypto';
import { loadModel } from '../native/onnx/load.js';
import { AppError } from '../common/errors.js';
import { sha256Hex, type BlobReader } from '../storage/blobs.js';
import type { Store } from '../storage/store.js';
import type { Deletion } from '../storage/deletion.js';
import type { ModelRecord } from '../storage/records.js';
import type { LoadedModel } from '../analyzers/types.js';
import { summarizeModel } from './modelSummary.js';
import { candidateLayers, type LayerCandidate } from '../analyzers/saliency/index.js';

export class ModelService {
  /** saliencyLayers per model sha256: one probe per model for the life of the process. */
  private readonly layers = new Map<string, Promise<LayerCandidate[] | null>>();

  constructor(
    private readonly store: Store,
    private readonly maxBytes: number,
  ) {}

  /**
   * Parses and validates first (BAD_MODEL, TOO_LARGE), then stores: rejected bytes never reach
   * the blob store or the database. The same bytes uploaded twice give the same model.
   */
  async ingest(bytes: Uint8Array, name: string | null | undefined): Promise<ModelRecord> {
    const ir = loadModel(bytes, { maxBytes: this.maxBytes });
    const summary = summarizeModel(ir);
    const sha256 = await this.store.blobs.put(bytes);
    const record = await this.store.models.insertOrGet({
      id: randomUUID(),
      sha256,
      name: name?.trim() || `model-${sha256.slice(0, 12)}`,
      sizeBytes: bytes.length,
      summary,
    });
    // A delete of the same bytes may have removed the blob between our put and our row (storage/deletion.ts).
    await this.store.blobs.put(bytes, sha256);
    return record;
  }

  /** Removes the model, its analyses and their results, and the blobs only they used (CONFLICT while an analysis of it is queued or running). */
  async delete(id: string): Promise<Deletion> {
    const model = await this.get(id);
    const deletion = await this.store.delete({ kind: 'model', id });
    this.layers.delete(model.sha256);
    return deletion;
  }

  async get(id: string): Promise<ModelRecord> {
    const m = await this.store.models.byId(id);
    if (!m) throw new AppError('NOT_FOUND', `no model with id ${id}`, { modelId: id });
    return m;
  }

  list(): Promise<ModelRecord[]> {
    return this.store.models.list();
  }

  /**
   * Tensors the saliency analyzer can map (its `layer` param), found by probing shapes in one
   * ORT run; remembered per model. A model whose shapes cannot be probed without data (symbolic
   * spatial dims) gets null: the saliency result lists them once a dataset fixes the shapes.
   */
  saliencyLayers(m: ModelRecord): Promise<LayerCandidate[] | null> {
    let p = this.layers.get(m.sha256);
    if (!p) {
      p = loadStoredModel(this.store, m.sha256)
        .then((loaded) => candidateLayers(loaded.ir))
        .catch(() => null);
      this.layers.set(m.sha256, p);
    }
    return p;
  }

}

/** A stored model as analyzers see it (bytes re-checked: the blob store is not trusted blindly). */
export async function loadStoredModel(store: { blobs: BlobReader }, sha256: string): Promise<LoadedModel> {
  const bytes = await store.blobs.get(sha256);
  if (sha256Hex(bytes) !== sha256) throw new AppError('INTERNAL', `model blob ${sha256} is corrupt`);
  return { sha256, bytes, ir: loadModel(bytes) };
}
