/**
 * Telling how a Node process that runs an analysis died, from what it printed on stderr: V8's
 * fatal report on heap exhaustion ("FATAL ERROR: Reached heap limit Allocation failed - JavaScript
 * heap out of memory") or the C++ runtime's on a failed native allocation (std::bad_alloc from
 * onnxruntime). The CLI's analysis child and the service's worker pool both read it.
 */

/** Lines that start V8's or the C++ runtime's fatal report: everything from there on is noise to a user. */
export const FATAL_START = /^(<--- Last few GCs --->|FATAL ERROR:|#\s*Fatal error|terminate called|----- Native stack trace)/m;

/** A fatal report (or an allocation failure message) that says memory ran out. */
export const OUT_OF_MEMORY = /heap out of memory|Reached heap limit|Allocation failed|std::bad_alloc|out of memory/i;

/** --max-old-space-size=MB for a child's execArgv, replacing any the parent runs with. */
export function heapLimitArgv(execArgv: readonly string[], heapMb: number): string[] {
  return [...execArgv.filter((a) => !/^--max[-_]old[-_]space[-_]size(=|$)/.test(a)), `--max-old-space-size=${Math.floor(heapMb)}`];
}

/**
 * Watches a child's stderr: text before a fatal report goes on to `forward`, the report itself is
 * kept (`report`). A report whose first line is split across chunks is still found (the partial
 * last line is carried over; what of it was already forwarded stays forwarded).
 */
export class FatalReportWatcher {
  private carry = '';
  /** The fatal report seen so far ('' while none). */
  report = '';

  constructor(private readonly forward: (text: string) => void) {}

  push(chunk: string): void {
    if (this.report) {
      this.report += chunk;
      return;
    }
    const text = this.carry + chunk;
    const m = FATAL_START.exec(text);
    if (!m) {
      this.forward(chunk);
      this.carry = text.slice(text.lastIndexOf('\n') + 1).slice(-200);
      return;
    }
    const before = chunk.slice(0, Math.max(0, m.index - this.carry.length));
    if (before) this.forward(before);
    this.report = text.slice(m.index);
  }

  get outOfMemory(): boolean {
    return OUT_OF_MEMORY.test(this.report);
  }

  /** The report's first line (what a log line or an error message quotes). */
  get firstLine(): string {
    const lines = this.report.split('\n').map((l) => l.trim());
    return lines.find((l) => OUT_OF_MEMORY.test(l)) ?? lines.find((l) => l && !l.startsWith('<---')) ?? '';
  }
}
