/** The gate's answer for a terminal: one row per rule, then a summary line. */
import { formatPair, type GateReport, type RuleOutcome } from '../run.js';

const STATUS: Record<RuleOutcome['status'], string> = { pass: 'pass', fail: 'FAIL', error: 'ERROR', warn: 'WARN' };

export function renderTable(report: GateReport): string {
  const header = ['STATUS', 'RULE', 'OBSERVED', 'THRESHOLD'];
  const rows = report.rules.map((r) => {
    const [observed, threshold] = formatPair(r.observed, r.threshold);
    return [STATUS[r.status], r.name, r.observed === null ? '-' : observed, r.threshold === null ? '-' : `${r.op} ${threshold}`];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [line(header), ...rows.map(line)];
  for (const r of report.rules.filter((r) => r.status === 'error' || r.status === 'warn')) out.push(`  ${r.name}: ${r.message}`);
  const { counts } = report;
  out.push(
    '',
    `${report.passed ? 'PASSED' : 'FAILED'}: ${counts.passed} of ${counts.rules} rules passed` +
      `${counts.failed ? `, ${counts.failed} failed` : ''}${counts.errors ? `, ${counts.errors} errors` : ''}${counts.warnings ? `, ${counts.warnings} warnings` : ''}` +
      `; ${counts.analyses} analyses (${counts.cached} from the cache) in ${(report.durationMs / 1000).toFixed(1)} s`,
  );
  return `${out.join('\n')}\n`;
}
