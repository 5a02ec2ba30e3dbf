/** A model as the runtime and the analyzers see it (re-exported by analyzers/types.ts). */
import type { Model } from './ir.js';

/** A model as everything above the IR sees it: bytes (for runtime sessions) and the parsed IR. */
export interface LoadedModel {
  sha256: string;
  bytes: Uint8Array;
  ir: Model;
}
