/** Every analysis, newest first, filtered by analyzer, status and model. */
import { useState } from 'preact/hooks';
import { useQuery } from '../hooks';
import { ErrorLine } from '../ui';
import { ANALYSIS_ROW_FIELDS, AnalysisTable, type AnalysisRow } from './AnalysisTable';

const STATUSES = ['', 'QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];

export function HistoryPage() {
  const [analyzer, setAnalyzer] = useState('');
  const [status, setStatus] = useState('');
  const [modelId, setModelId] = useState('');
  const [offset, setOffset] = useState(0);
  const filter = { ...(analyzer ? { analyzer } : {}), ...(status ? { status } : {}), ...(modelId ? { modelId } : {}) };
  const q = useQuery<{ analyses: { total: number; items: AnalysisRow[] }; analyzers: Array<{ name: string }>; models: Array<{ id: string; name: string }> }>(
    `query($filter: AnalysisFilter, $p: Pagination) { analyses(filter: $filter, pagination: $p) { total items { ${ANALYSIS_ROW_FIELDS} } } analyzers { name } models { id name } }`,
    { filter, p: { offset, limit: 25 } },
  );
  const total = q.data?.analyses.total ?? 0;
  return (
    <div>
      <h2>Analyses</h2>
      <p>
        <a class="button" href="#/analyses/new">
          New analysis
        </a>{' '}
        <button type="button" onClick={q.reload}>
          Refresh
        </button>
      </p>
      <div class="row">
        <select value={analyzer} onChange={(e) => (setAnalyzer(e.currentTarget.value), setOffset(0))} aria-label="analyzer">
          <option value="">any analyzer</option>
          {q.data?.analyzers.map((a) => (
            <option value={a.name}>{a.name}</option>
          ))}
        </select>
        <select value={status} onChange={(e) => (setStatus(e.currentTarget.value), setOffset(0))} aria-label="status">
          {STATUSES.map((s) => (
            <option value={s}>{s || 'any status'}</option>
          ))}
        </select>
        <select value={modelId} onChange={(e) => (setModelId(e.currentTarget.value), setOffset(0))} aria-label="model">
          <option value="">any model</option>
          {q.data?.models.map((m) => (
            <option value={m.id}>{m.name}</option>
          ))}
        </select>
      </div>
      <ErrorLine error={q.error} />
      <AnalysisTable rows={q.data?.analyses.items ?? []} />
      <p>
        {total} analyses{' '}
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - 25))}>
          newer
        </button>{' '}
        <button type="button" disabled={offset + 25 >= total} onClick={() => setOffset(offset + 25)}>
          older
        </button>
      </p>
    </div>
  );
}
