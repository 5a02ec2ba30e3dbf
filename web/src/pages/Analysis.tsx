/** One analysis: live status and progress (analysisUpdated subscription), cancel, result view. */
import { useEffect, useState } from 'preact/hooks';
import { errorText, gql, subscribe } from '../api';
import { useQuery } from '../hooks';
import { useSession } from '../session';
import { ErrorLine, Facts, Section, fmt, when } from '../ui';
import { ResultView, type ArtifactRef } from '../results/ResultView';

interface Live {
  status: string;
  progress: number;
  message: string | null;
  error: { code: string; message: string } | null;
}

interface Full extends Live {
  id: string;
  analyzer: string;
  analyzerVersion: number;
  cached: boolean;
  params: Record<string, unknown>;
  createdAt: string;
  durationMs: number | null;
  model: { id: string; name: string };
  dataset: { id: string; name: string; sampleShape: number[] } | null;
  resultJson: unknown;
  artifacts: ArtifactRef[];
}

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const LIVE_FIELDS = 'status progress message error { code message }';

export function AnalysisPage({ id }: { id: string }) {
  const q = useQuery<{ analysis: Full }>(
    `query($id: ID!) { analysis(id: $id) { id analyzer analyzerVersion cached params createdAt durationMs ${LIVE_FIELDS}
      model { id name } dataset { id name sampleShape } resultJson artifacts { name mimeType sizeBytes url } } }`,
    { id },
  );
  const { canWrite } = useSession();
  const [live, setLive] = useState<Live | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const a = q.data?.analysis;
  const status = live?.status ?? a?.status;

  useEffect(() => {
    if (!a || TERMINAL.has(a.status)) return;
    return subscribe<{ analysisUpdated: Live }>(
      `subscription($id: ID!) { analysisUpdated(id: $id) { ${LIVE_FIELDS} } }`,
      { id },
      (d) => {
        setLive(d.analysisUpdated);
        if (TERMINAL.has(d.analysisUpdated.status)) q.reload();
      },
      (e) => setActionError(errorText(e)),
    );
  }, [a?.id, a?.status]);

  if (!a) return <ErrorLine error={q.error} />;
  const cur: Live = live && !TERMINAL.has(a.status) ? live : a;
  const cancel = async () => {
    try {
      await gql(`mutation($id: ID!) { cancelAnalysis(id: $id) { id status } }`, { id });
    } catch (e) {
      setActionError(errorText(e));
    }
  };
  return (
    <div data-testid="analysis">
      <h2>
        {a.analyzer} on {a.model.name}
        {a.dataset ? ` × ${a.dataset.name}` : ''}
      </h2>
      <div class="statusline">
        <span class={`status ${status}`} data-testid="status">
          {status}
        </span>
        {a.cached && <span class="badge">cached</span>}
        {!TERMINAL.has(cur.status) && (
          <>
            <progress data-testid="progress" max={1} value={cur.progress} />
            <span data-testid="progress-text">
              {Math.round(cur.progress * 100)}% {cur.message ?? ''}
            </span>
            {canWrite && (
              <button type="button" onClick={cancel} data-testid="cancel">
                Cancel
              </button>
            )}
          </>
        )}
      </div>
      <ErrorLine error={actionError} />
      {cur.error && (
        <p class="error" data-testid="analysis-error">
          {cur.error.code}: {cur.error.message}
        </p>
      )}
      <Section title="Run">
        <Facts
          rows={[
            ['analyzer', `${a.analyzer} v${a.analyzerVersion}`],
            ['model', <a href={`#/models/${a.model.id}`}>{a.model.name}</a>],
            ['dataset', a.dataset ? <a href={`#/datasets/${a.dataset.id}`}>{a.dataset.name}</a> : '—'],
            ['started', when(a.createdAt)],
            ['time', a.durationMs === null ? '—' : `${fmt(a.durationMs / 1000, 3)} s`],
            ['params', <code class="params-json">{JSON.stringify(a.params)}</code>],
          ]}
        />
      </Section>
      {a.status === 'SUCCEEDED' && <ResultView analyzer={a.analyzer} result={a.resultJson} artifacts={a.artifacts} sampleShape={a.dataset?.sampleShape ?? null} />}
    </div>
  );
}
