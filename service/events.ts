/**
 * In-process notifications of analysis changes (status, progress), feeding the GraphQL
 * subscription analysisUpdated(id). Listeners get the analysis id; they re-read the row, so
 * the database stays the one source of truth and a slow subscriber only ever sees the latest state.
 */
import { EventEmitter } from 'node:events';

export class AnalysisEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Any number of subscribers may watch the same analysis.
    this.emitter.setMaxListeners(0);
  }

  publish(analysisId: string): void {
    this.emitter.emit(analysisId, analysisId);
  }

  /**
   * An async iterable of change notifications for one analysis. Notifications that arrive while
   * the consumer is busy collapse into one (only "something changed" matters).
   */
  subscribe(analysisId: string): AsyncIterableIterator<string> {
    const emitter = this.emitter;
    // Start pending: a new subscriber first gets the current state.
    let pending = true;
    let wake: (() => void) | null = null;
    let closed = false;
    const onEvent = () => {
      pending = true;
      wake?.();
    };
    emitter.on(analysisId, onEvent);
    const close = () => {
      closed = true;
      emitter.off(analysisId, onEvent);
      wake?.();
    };
    return {
      [Symbol.asyncIterator]() {
        return this;
      },
      async next(): Promise<IteratorResult<string>> {
        while (!pending && !closed) await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
        if (closed) return { done: true, value: undefined };
        pending = false;
        return { done: false, value: analysisId };
      },
      async return(): Promise<IteratorResult<string>> {
        close();
        return { done: true, value: undefined };
      },
    };
  }
}
