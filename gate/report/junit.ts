/**
 * JUnit XML, the format every CI system reads: one test case per rule (per run, for swept
 * analyses), a <failure> for a broken threshold and an <error> for an analysis that failed.
 */
import { XMLBuilder } from 'fast-xml-parser';
import type { GateReport } from '../run.js';

export function renderJunit(report: GateReport): string {
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const testcases = report.rules.map((r) => ({
    '@_name': r.name,
    '@_classname': `onnxscope.gate.${r.analysis}`,
    '@_time': seconds(r.durationMs),
    // Where the rule is written: test reporters turn these into annotations on the config.
    '@_file': report.config,
    '@_line': r.line,
    ...(r.status === 'fail' ? { failure: { '@_message': r.message, '@_type': 'threshold', '#text': `${report.config}:${r.line}: ${r.rule}\n${r.message}` } } : {}),
    ...(r.status === 'error' ? { error: { '@_message': r.message, '@_type': 'analysis', '#text': `${report.config}:${r.line}: ${r.rule}\n${r.message}` } } : {}),
    'system-out': r.status === 'pass' ? r.message : undefined,
    // JUnit has no warnings: a warn-only rule passes as a test and says why on stderr.
    'system-err': r.status === 'warn' ? `WARNING: ${r.message}` : undefined,
  }));
  const properties = [
    { '@_name': 'config', '@_value': report.config },
    { '@_name': 'where', '@_value': report.where },
    { '@_name': 'model', '@_value': report.model.file },
    { '@_name': 'model.sha256', '@_value': report.model.sha256 },
    ...(report.baseline ? [{ '@_name': 'baseline', '@_value': report.baseline.file }, { '@_name': 'baseline.sha256', '@_value': report.baseline.sha256 }] : []),
    ...(report.data ? [{ '@_name': 'data', '@_value': report.data }] : []),
    { '@_name': 'analyses.cached', '@_value': `${report.counts.cached}/${report.counts.analyses}` },
  ];
  const counts = {
    '@_tests': report.counts.rules,
    '@_failures': report.counts.failed,
    '@_errors': report.counts.errors,
    '@_time': seconds(report.durationMs),
  };
  // suppressBooleanAttributes off: a value "true" (a rule named true) must stay name="true".
  const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, suppressEmptyNode: true, suppressBooleanAttributes: false });
  return builder.build({
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    testsuites: {
      '@_name': 'onnxscope gate',
      ...counts,
      testsuite: {
        '@_name': `onnxscope gate: ${report.config}`,
        ...counts,
        '@_skipped': 0,
        '@_timestamp': report.startedAt,
        properties: { property: properties },
        testcase: testcases,
      },
    },
  }) as string;
}
