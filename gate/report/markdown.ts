/** A Markdown summary for a CI job page (e.g. appended to $GITHUB_STEP_SUMMARY). */
import path from 'node:path';
import { formatPair, formatValue, type GateReport, type RuleOutcome } from '../run.js';

const ICON: Record<RuleOutcome['status'], string> = { pass: '✅', fail: '❌', error: '❗', warn: '⚠️' };

/** Table cells: pipes and newlines would break the row. */
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;

export function renderMarkdown(report: GateReport): string {
  const { counts } = report;
  const out: string[] = [];
  out.push(
    `### ${report.passed ? '✅' : '❌'} onnxscope gate ${report.passed ? 'passed' : 'failed'}: ${counts.passed} of ${counts.rules} rules passed`,
    '',
    `Model ${code(path.basename(report.model.file))} (sha256 ${report.model.sha256.slice(0, 12)})` +
      (report.baseline ? `, baseline ${code(path.basename(report.baseline.file))} (sha256 ${report.baseline.sha256.slice(0, 12)})` : '') +
      (report.data ? `, data ${code(path.basename(report.data))}` : '') +
      `. ${counts.analyses} analyses, ${counts.cached} from the cache, ${(report.durationMs / 1000).toFixed(1)} s.`,
    '',
    '| | Rule | Observed | Expected | Details |',
    '|---|---|---|---|---|',
  );
  for (const r of report.rules) {
    const [observed, threshold] = formatPair(r.observed, r.threshold);
    const expected = r.threshold === null ? '' : `${r.op} ${threshold}` + (r.baseline !== null ? ` (baseline ${formatValue(r.baseline)})` : '');
    out.push(`| ${ICON[r.status]} | ${cell(code(r.name))} | ${r.observed === null ? '' : cell(observed)} | ${cell(expected)} | ${r.status === 'pass' ? '' : cell(r.message)} |`);
  }
  out.push('', '<details><summary>Analyses</summary>', '', '| Analysis | Analyzer | Model | Cached | Time |', '|---|---|---|---|---|');
  for (const a of report.analyses) {
    const name = a.label ? `${a.analysis} [${a.label}]` : a.analysis;
    const status = a.error ? `failed: ${a.error.code}` : a.cached ? 'yes' : 'no';
    out.push(`| ${cell(name)} | ${a.analyzer} | ${a.role} | ${cell(status)} | ${(a.durationMs / 1000).toFixed(1)} s |`);
  }
  out.push('', '</details>', '');
  return out.join('\n');
}
