/** Warnings (a result's `warnings`, service/jobs/execute.ts) on stderr, one line each, so they are seen even with --json. */
export function printWarnings(what: string, warnings: string[]): void {
  for (const w of warnings) process.stderr.write(`warning: ${what}: ${w}\n`);
}
