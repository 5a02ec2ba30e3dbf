/**
 * `analyze` runs its analysis in a child process (this same command line, marked by an env
 * variable), so a death the analysis cannot catch — V8 heap exhaustion, an onnxruntime abort, a
 * native crash — ends only the child. The parent then exits 1 with one line naming what died
 * and while doing what, instead of a core dump and a V8 stack on the terminal.
 *
 * ONNXSCOPE_ANALYSIS_HEAP_MB caps the child's V8 heap (--max-old-space-size), e.g. to keep a
 * runaway analysis from swapping the machine.
 */
import { spawn } from 'node:child_process';
import { EXIT_INTERNAL } from './exit.js';

const CHILD_MARK = 'ONNXSCOPE_ANALYZE_CHILD';

/** True in the child (run the analysis here); false in the parent, which should call runInChild. */
export const isAnalysisChild = (): boolean => process.env[CHILD_MARK] === '1';

/** Lines that start V8's or the C++ runtime's fatal report: everything from there on is noise to the user. */
const FATAL_START = /^(<--- Last few GCs --->|FATAL ERROR:|#\s*Fatal error|terminate called|----- Native stack trace)/m;
const OUT_OF_MEMORY = /heap out of memory|Reached heap limit|Allocation failed|std::bad_alloc|out of memory/i;

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
  const heapMb = process.env.ONNXSCOPE_ANALYSIS_HEAP_MB;
  const execArgv = heapMb ? [...process.execArgv, `--max-old-space-size=${Number(heapMb)}`] : process.execArgv;
  const child = spawn(process.execPath, [...execArgv, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'pipe'],
    env: { ...process.env, [CHILD_MARK]: '1' },
  });
  let fatal = '';
  let inFatal = false;
  child.stderr!.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    if (inFatal) {
      fatal += text;
      return;
    }
    const m = FATAL_START.exec(text);
    if (!m) {
      process.stderr.write(text);
      return;
    }
    inFatal = true;
    const before = text.slice(0, m.index);
    if (before.trim()) process.stderr.write(before);
    fatal += text.slice(m.index);
  });
  // Ctrl-C reaches the child too (same process group); it cancels and exits on its own.
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      process.off('SIGINT', ignore);
      if (!inFatal && signal === null) {
        resolve({ code: code ?? EXIT_INTERNAL });
        return;
      }
      const oom = OUT_OF_MEMORY.test(fatal);
      const how = oom
        ? `out of memory while ${doing}${heapMb ? ` (heap capped at ${heapMb} MB by ONNXSCOPE_ANALYSIS_HEAP_MB)` : ''}; lower the batch size or ONNXSCOPE_MEMORY_MB`
        : `the analysis process died (${signal ?? `exit ${code}`}) while ${doing}`;
      const line = `onnxscope: INTERNAL: ${how}`;
      process.stderr.write(`${line}\n`);
      resolve({ code: EXIT_INTERNAL, line });
    });
  });
}
