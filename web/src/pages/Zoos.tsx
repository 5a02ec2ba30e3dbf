/** Zoos: the list, and one zoo's models (sort, phase filter), phase diagram and per-model links. */
import { useState } from 'preact/hooks';
import { go, useQuery } from '../hooks';
import { ErrorLine, Section, fmt, when } from '../ui';

export function ZoosPage() {
  const q = useQuery<{ zoos: Array<{ id: string; name: string; loadAxis: string | null; temperatureAxis: string | null; createdAt: string }> }>(`{ zoos { id name loadAxis temperatureAxis createdAt } }`);
  return (
    <div>
      <h2>Zoos</h2>
      <p class="hint">Create zoos with the createZoo mutation or `onnxscope zoo add`; analyze them with runZooAnalysis.</p>
      <ErrorLine error={q.error} />
      <table class="list" data-testid="zoos">
        <thead>
          <tr>
            <th>name</th>
            <th>load axis</th>
            <th>temperature axis</th>
            <th>created</th>
          </tr>
        </thead>
        <tbody>
          {q.data?.zoos.map((z) => (
            <tr class="link" onClick={() => go(`/zoos/${z.id}`)}>
              <td>{z.name}</td>
              <td>{z.loadAxis ?? '—'}</td>
              <td>{z.temperatureAxis ?? '—'}</td>
              <td>{when(z.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const METRICS = ['trainLoss', 'trainAccuracy', 'testLoss', 'testAccuracy', 'hessianTop', 'hessianTrace', 'mc', 'mcLinear', 'barrier', 'cka'] as const;
const PHASES = ['', 'I', 'II', 'III', 'IV-A', 'IV-B'];

interface ZooModel {
  model: { id: string; name: string };
  file: string;
  hyperparameters: Record<string, unknown>;
  metrics: Record<(typeof METRICS)[number], number | null>;
  phase: { label: string | null; reason: string };
}

export function ZooPage({ id }: { id: string }) {
  const [sortBy, setSortBy] = useState('');
  const [descending, setDescending] = useState(false);
  const [phase, setPhase] = useState('');
  const [metric, setMetric] = useState('phase');
  const q = useQuery<{ zoo: { name: string; models: ZooModel[]; phaseDiagram: { svg: string }; runs: Array<{ id: string; status: string; progressText: string; failed: number }> } }>(
    `query($id: ID!, $sortBy: String, $descending: Boolean!, $phase: String, $metric: String!) { zoo(id: $id) { name
      models(sortBy: $sortBy, descending: $descending, phase: $phase) { model { id name } file hyperparameters metrics { ${METRICS.join(' ')} } phase { label reason } }
      phaseDiagram(metric: $metric) { svg } runs { id status progressText failed } } }`,
    { id, sortBy: sortBy || null, descending, phase: phase || null, metric },
  );
  const z = q.data?.zoo;
  const hyper = z ? [...new Set(z.models.flatMap((m) => Object.keys(m.hyperparameters)))] : [];
  const sortHeader = (key: string) => (
    <th class="link" onClick={() => (sortBy === key ? setDescending(!descending) : (setSortBy(key), setDescending(false)))}>
      {key}
      {sortBy === key ? (descending ? ' ▼' : ' ▲') : ''}
    </th>
  );
  return (
    <div data-testid="zoo">
      <h2>Zoo {z?.name}</h2>
      <ErrorLine error={q.error} />
      <div class="row">
        <label>
          phase{' '}
          <select value={phase} onChange={(e) => setPhase(e.currentTarget.value)}>
            {PHASES.map((p) => (
              <option value={p}>{p || 'any'}</option>
            ))}
          </select>
        </label>
        <label>
          diagram{' '}
          <select value={metric} onChange={(e) => setMetric(e.currentTarget.value)}>
            {['phase', ...METRICS].map((m) => (
              <option value={m}>{m}</option>
            ))}
          </select>
        </label>
      </div>
      {z && (
        <>
          <Section title={`Phase diagram: ${metric}`} testId="phase-diagram">
            {/* The server renders the heatmap (service/zooDiagram.ts) from numbers and escaped labels. */}
            <div class="svg" dangerouslySetInnerHTML={{ __html: z.phaseDiagram.svg }} />
          </Section>
          <Section title="Models">
            <table class="list">
              <thead>
                <tr>
                  <th>model</th>
                  {hyper.map(sortHeader)}
                  {METRICS.map(sortHeader)}
                  <th>phase</th>
                </tr>
              </thead>
              <tbody>
                {z.models.map((m) => (
                  <tr>
                    <td>
                      <a href={`#/models/${m.model.id}`}>{m.file}</a>
                    </td>
                    {hyper.map((h) => (
                      <td>{fmt(m.hyperparameters[h])}</td>
                    ))}
                    {METRICS.map((k) => (
                      <td>{fmt(m.metrics[k], 3)}</td>
                    ))}
                    <td title={m.phase.reason}>{m.phase.label ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
          <Section title="Runs">
            <ul>
              {z.runs.map((r) => (
                <li>
                  {r.status} {r.progressText}
                  {r.failed ? `, ${r.failed} failed` : ''}
                </li>
              ))}
            </ul>
          </Section>
        </>
      )}
    </div>
  );
}
