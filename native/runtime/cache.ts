/**
 * A bounded LRU of open sessions keyed by model sha256 + variant ("original", "batched",
 * "loss", ...). Creating a session costs graph optimization and kernel setup; a worker that
 * runs several analyses on one model should pay it once.
 *
 * Sessions are handed out as leases: an entry evicted while someone still runs it is released
 * only when the last lease ends, so eviction never frees a session under a running call.
 */
import type { InferenceSession } from 'onnxruntime-node';
import { createSession, type SessionOptions } from './session.js';

export interface SessionLease {
  session: InferenceSession;
  /** Ends this use. The session itself stays cached until evicted. */
  release(): void;
}

interface Entry {
  key: string;
  session: Promise<InferenceSession>;
  leases: number;
  evicted: boolean;
}

/** A lease whose release() runs `end` the first time only: releasing twice must not free twice. */
function leaseOf(session: InferenceSession, end: () => void): SessionLease {
  let done = false;
  return {
    session,
    release: () => {
      if (done) return;
      done = true;
      end();
    },
  };
}

/** A session opened outside the cache, behind the same lease interface: release() frees it, once. */
export async function uncachedLease(bytes: Uint8Array, opts?: SessionOptions): Promise<SessionLease> {
  const session = await createSession(bytes, opts);
  return leaseOf(session, () => void session.release());
}

export const sessionKey = (sha256: string, variant: string): string => `${sha256}:${variant}`;

export class SessionCache {
  // A Map iterates in insertion order; re-inserting on use makes the first key the least recent.
  private readonly entries = new Map<string, Entry>();

  constructor(readonly maxEntries = 8) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new Error(`SessionCache: maxEntries must be >= 1, got ${maxEntries}`);
  }

  get size(): number {
    return this.entries.size;
  }

  has(sha256: string, variant: string): boolean {
    return this.entries.has(sessionKey(sha256, variant));
  }

  /**
   * The cached session for (sha256, variant), created from build() on a miss. Concurrent
   * callers for one key share a single creation.
   */
  async acquire(
    sha256: string,
    variant: string,
    build: () => Uint8Array | Promise<Uint8Array>,
    opts: SessionOptions = {},
  ): Promise<SessionLease> {
    const key = sessionKey(sha256, variant);
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    } else {
      const created: Entry = {
        key,
        session: Promise.resolve().then(build).then((bytes) => createSession(bytes, opts)),
        leases: 0,
        evicted: false,
      };
      entry = created;
      this.entries.set(key, created);
      // A failed creation must not stay cached: the next caller should try again (and see the error).
      created.session.catch(() => {
        if (this.entries.get(key) === created) this.entries.delete(key);
      });
      this.evictOverflow();
    }
    entry.leases++;
    let session: InferenceSession;
    try {
      session = await entry.session;
    } catch (err) {
      entry.leases--;
      throw err;
    }
    const held = entry;
    return leaseOf(session, () => {
      held.leases--;
      if (held.evicted && held.leases === 0) void dispose(held);
    });
  }

  /** Runs fn with a leased session and ends the lease afterwards, whatever happens. */
  async with<T>(
    sha256: string,
    variant: string,
    build: () => Uint8Array | Promise<Uint8Array>,
    fn: (session: InferenceSession) => Promise<T>,
    opts: SessionOptions = {},
  ): Promise<T> {
    const lease = await this.acquire(sha256, variant, build, opts);
    try {
      return await fn(lease.session);
    } finally {
      lease.release();
    }
  }

  /** Drops every entry; sessions in use are released when their leases end. */
  clear(): void {
    for (const entry of this.entries.values()) this.evict(entry);
    this.entries.clear();
  }

  private evictOverflow(): void {
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.values().next().value as Entry;
      this.entries.delete(oldest.key);
      this.evict(oldest);
    }
  }

  private evict(entry: Entry): void {
    entry.evicted = true;
    if (entry.leases === 0) void dispose(entry);
  }
}

async function dispose(entry: Entry): Promise<void> {
  try {
    await (await entry.session).release();
  } catch {
    // Creation failed (nothing to release) or the session is already gone.
  }
}

function defaultSize(): number {
  const v = Number(process.env.ONNXSCOPE_SESSION_CACHE);
  return Number.isInteger(v) && v >= 1 ? v : 8;
}

/** The process-wide cache (size from ONNXSCOPE_SESSION_CACHE, default 8). */
export const sessionCache = new SessionCache(defaultSize());
