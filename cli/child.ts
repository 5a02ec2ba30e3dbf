/**
 * `analyze` runs its analysis in a child process (this same command line, marked by an env
 * variable), so a death the analysis cannot catch — V8 heap exhaustion, an onnxruntime abort, a
 * native crash — ends only the child. The parent then prints one line naming what died and while
 * doing what (RESOURCE_LIMIT and exit 2 when memory ran out, INTERNAL and exit 1 otherwise),
 * instead of a core dump and a V8 stack on the terminal.
 *
 * The child's V8 heap is capped (--max-old-space-size) at ONNXSCOPE_WORKER_MAX_HEAP_MB, the same
 * cap as the service's workers (service/config.ts), so a runaway analysis fails with
 * RESOURCE_LIMIT naming that limit instead of swapping the machine.
 */
import { spawn } from 'node:child_process';
import { EXIT_BAD_INPUT, EXIT_INTERNAL } from './exit.js';
import { FatalReportWatcher, heapLimitArgv } from '../common/fatalReport.js';
import { loadConfig } from '../service/config.js';

const CHILD_MARK = 'ONNXSCOPE_ANALYZE_CHILD';

/** True in the child (run the analysis here); false in the parent, which should call runInChild. */
export const isAnalysisChild = (): boolean => process.env[CHILD_MARK] === '1';

export interface ChildOutcome {
  code: number;
  /** The one line printed for a death (absent for an ordinary exit). */
  line?: string;
}

/**
 * Re-runs this command line in a child process, passing stdout through and stderr through up to
 * a fatal report. Resolves with the exit code to use.
 */
export function runInChild(doing: string): Promise<ChildOutcome> {
  const heapMb = loadConfig().workerMaxHeapMb;
  const child = spawn(process.execPath, [...heapLimitArgv(process.execArgv, heapMb), ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'pipe'],
    env: { ...process.env, [CHILD_MARK]: '1' },
  });
  const watcher = new FatalReportWatcher((text) => process.stderr.write(text));
  child.stderr!.on('data', (chunk: Buffer) => watcher.push(chunk.toString('utf8')));
  // Ctrl-C reaches the child too (same process group); it cancels and exits on its own.
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      process.off('SIGINT', ignore);
      if (!watcher.report && signal === null) {
        resolve({ code: code ?? EXIT_INTERNAL });
        return;
      }
      // Out of memory is the model's or the data's size against a configured limit, like TOO_LARGE: bad input (exit 2).
      const line = watcher.outOfMemory
        ? `onnxscope: RESOURCE_LIMIT: out of memory while ${doing}: the analysis reached its heap limit of ${heapMb} MB ` +
          `(ONNXSCOPE_WORKER_MAX_HEAP_MB); raise it, or lower the batch size or ONNXSCOPE_MEMORY_MB`
        : `onnxscope: INTERNAL: the analysis process died (${signal ?? `exit ${code}`}) while ${doing}`;
      process.stderr.write(`${line}\n`);
      resolve({ code: watcher.outOfMemory ? EXIT_BAD_INPUT : EXIT_INTERNAL, line });
    });
  });
}
