/**
 * The VNN-COMP result file (the competition's run_instance.sh output): one line `sat`, `unsat`,
 * `timeout` or `unknown`; after `sat`, the counterexample as `((X_0 v) ... (Y_0 v) ...)`, one
 * assignment a line, inputs as fed to ONNX Runtime and outputs as it computed them. Scoring
 * (VNN-COMP 2021 rules): +10 a correct decided instance, -150 a wrong one, 0 otherwise.
 */
import type { SafetyResult } from './index.js';

/** holds -> unsat (the unsafe set is empty), violated -> sat, unknown -> timeout when the budget ran out. */
export function vnncompVerdict(result: SafetyResult): 'sat' | 'unsat' | 'timeout' | 'unknown' {
  if (result.status === 'holds') return 'unsat';
  if (result.status === 'violated') return 'sat';
  return result.boundsIssue ? 'unknown' : 'timeout';
}

/** The file's text. */
export function vnncompResultText(result: SafetyResult): string {
  const verdict = vnncompVerdict(result);
  const cex = result.checks[0]?.counterexample;
  if (verdict !== 'sat' || !cex) return `${verdict}\n`;
  // Shortest text that reads back as the same double (the inputs are float32 values, exact in it).
  const lines = [...cex.input.map((v, i) => `(X_${i} ${v})`), ...cex.output.map((v, j) => `(Y_${j} ${v})`)];
  return `sat\n(${lines.join('\n')})\n`;
}

/** VNN-COMP points of one verdict against the expected one (sat/unsat), or null when unknown. */
export function vnncompScore(verdict: string, expected: 'sat' | 'unsat' | null): number {
  if (verdict !== 'sat' && verdict !== 'unsat') return 0;
  if (expected === null) return 10;
  return verdict === expected ? 10 : -150;
}
