/** A CI gate report (`onnxscope gate --report FILE` JSON), pasted or opened, as a table of rules. */
import { useState } from 'preact/hooks';
import { DropZone, ErrorLine, Facts, Section, fmt } from '../ui';

interface GateReport {
  config: string;
  model: { file: string; sha256: string };
  baseline: { file: string } | null;
  passed: boolean;
  counts: { rules: number; passed: number; failed: number; errors: number; warnings: number; analyses: number; cached: number };
  durationMs: number;
  rules: Array<{ name: string; rule: string; status: string; observed: unknown; threshold: unknown; baseline: unknown; message: string; line: number }>;
  analyses: Array<{ analysis: string; analyzer: string; role: string; cached: boolean; durationMs: number; error: { code: string; message: string } | null }>;
}

function parseReport(text: string): GateReport {
  const r = JSON.parse(text) as GateReport;
  if (!Array.isArray(r.rules) || typeof r.passed !== 'boolean') throw new Error('not a gate report: it needs "passed" and "rules" (write one with onnxscope gate --report FILE)');
  return r;
}

export function GatePage() {
  const [text, setText] = useState('');
  const [report, setReport] = useState<GateReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const show = (t: string) => {
    try {
      setReport(parseReport(t));
      setError(null);
    } catch (e) {
      setReport(null);
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <div>
      <h2>Gate report</h2>
      <DropZone label="Drop a gate report (.json) here, or click to choose one" accept=".json" busy={false} testId="gate-drop" onFile={async (f) => show(await f.text())} />
      <textarea rows={5} placeholder="…or paste the JSON report here" value={text} onInput={(e) => setText(e.currentTarget.value)} data-testid="gate-text" />
      <p>
        <button type="button" onClick={() => show(text)}>
          Show report
        </button>
      </p>
      <ErrorLine error={error} />
      {report && (
        <>
          <Section title="Verdict" testId="gate-verdict">
            <p class={`verdict ${report.passed ? 'holds' : 'violated'}`}>{report.passed ? 'passed' : 'failed'}</p>
            <Facts
              rows={[
                ['config', report.config],
                ['model', `${report.model.file} (${report.model.sha256.slice(0, 12)})`],
                ['baseline', report.baseline?.file ?? '—'],
                ['rules', `${report.counts.passed} passed, ${report.counts.failed} failed, ${report.counts.errors} errors, ${report.counts.warnings} warnings`],
                ['analyses', `${report.counts.analyses} (${report.counts.cached} from the cache), ${fmt(report.durationMs / 1000, 3)} s`],
              ]}
            />
          </Section>
          <Section title="Rules">
            <table class="list">
              <thead>
                <tr>
                  <th>line</th>
                  <th>rule</th>
                  <th>status</th>
                  <th>observed</th>
                  <th>threshold</th>
                  <th>message</th>
                </tr>
              </thead>
              <tbody>
                {report.rules.map((r) => (
                  <tr class={`rule ${r.status}`}>
                    <td>{r.line}</td>
                    <td>
                      <code>{r.rule}</code>
                    </td>
                    <td>{r.status}</td>
                    <td>{fmt(r.observed)}</td>
                    <td>{fmt(r.threshold)}</td>
                    <td>{r.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
          <Section title="Analyses">
            <ul>
              {report.analyses.map((a) => (
                <li>
                  {a.analysis} ({a.analyzer}, {a.role}){a.cached ? ' cached' : ''} {fmt(a.durationMs / 1000, 3)} s{a.error ? ` — ${a.error.code}: ${a.error.message}` : ''}
                </li>
              ))}
            </ul>
          </Section>
        </>
      )}
    </div>
  );
}
