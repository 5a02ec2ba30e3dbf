import { go } from '../hooks';
import { fmt, when } from '../ui';

export interface AnalysisRow {
  id: string;
  analyzer: string;
  status: string;
  progress: number;
  cached: boolean;
  createdAt: string;
  durationMs: number | null;
  model: { name: string };
  dataset: { name: string } | null;
}

export const ANALYSIS_ROW_FIELDS = 'id analyzer status progress cached createdAt durationMs model { name } dataset { name }';

export function AnalysisTable({ rows }: { rows: AnalysisRow[] }) {
  return (
    <table class="list" data-testid="analyses">
      <thead>
        <tr>
          <th>analyzer</th>
          <th>status</th>
          <th>model</th>
          <th>dataset</th>
          <th>time</th>
          <th>started</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((a) => (
          <tr class="link" onClick={() => go(`/analyses/${a.id}`)}>
            <td>{a.analyzer}</td>
            <td>
              <span class={`status ${a.status}`}>{a.status}</span>
              {a.cached ? ' (cached)' : ''}
              {a.status === 'RUNNING' ? ` ${Math.round(a.progress * 100)}%` : ''}
            </td>
            <td>{a.model.name}</td>
            <td>{a.dataset?.name ?? '—'}</td>
            <td>{a.durationMs === null ? '—' : `${fmt(a.durationMs / 1000, 3)} s`}</td>
            <td>{when(a.createdAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
