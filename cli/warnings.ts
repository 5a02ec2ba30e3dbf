/** A result's `warnings` (service/jobs/execute.ts) on stderr, one line each, so they are seen even with --json. */
export function printWarnings(analysis: string, result: unknown): void {
  const warnings = (result as { warnings?: unknown } | null)?.warnings;
  if (!Array.isArray(warnings)) return;
  for (const w of warnings) process.stderr.write(`warning: ${analysis}: ${String(w)}\n`);
}
