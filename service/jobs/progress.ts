/**
 * Analyzers may report progress on every sample; whoever relays it (IPC to the pool, the BullMQ
 * job of a remote worker) hears at most one report per interval, always the last one (1).
 */
import type { ProgressFn } from './execute.js';

export function throttledProgress(intervalMs: number, report: (progress: number, message: string | null) => void): ProgressFn {
  let last = 0;
  return (fraction: number, message?: string) => {
    const t = Date.now();
    if (t - last < intervalMs && fraction < 1) return;
    last = t;
    report(Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0)), message ?? null);
  };
}
