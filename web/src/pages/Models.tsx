/** Models: drag-and-drop upload, the list, and one model's summary. */
import { upload } from '../api';
import { go, useAction, useQuery } from '../hooks';
import { useSession } from '../session';
import { DropZone, ErrorLine, Facts, Section, fmt, when } from '../ui';
import { Bars } from '../plots/Bars';
import { AnalysisTable, type AnalysisRow } from './AnalysisTable';

interface ModelRow {
  id: string;
  name: string;
  sizeBytes: number;
  parameterCount: number;
  opsetImports: Array<{ domain: string; version: number }>;
  autodiffSupported: boolean;
  unsupportedOps: string[];
  createdAt: string;
}

const MODEL_FIELDS = 'id name sizeBytes parameterCount opsetImports { domain version } autodiffSupported unsupportedOps createdAt';
const opset = (m: ModelRow) => m.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? '—';

export function ModelsPage() {
  const list = useQuery<{ models: ModelRow[] }>(`{ models { ${MODEL_FIELDS} } }`);
  const { canWrite } = useSession();
  const { busy, error, run } = useAction();
  const onFile = (file: File) =>
    run(async () => {
      const r = await upload<{ uploadModel: { id: string } }>(`mutation($file: Upload!, $name: String) { uploadModel(file: $file, name: $name) { id } }`, { name: file.name }, file);
      go(`/models/${r.uploadModel.id}`);
    });
  return (
    <div>
      <h2>Models</h2>
      {!canWrite && <p class="note">Read-only token: the server refuses uploads (they need the write scope).</p>}
      <DropZone label="Drop an .onnx model here, or click to choose one" accept=".onnx" onFile={onFile} busy={busy} testId="model-drop" />
      <ErrorLine error={error ?? list.error} />
      <table class="list" data-testid="models">
        <thead>
          <tr>
            <th>name</th>
            <th>parameters</th>
            <th>opset</th>
            <th>autodiff</th>
            <th>size</th>
            <th>uploaded</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.models.map((m) => (
            <tr onClick={() => go(`/models/${m.id}`)} class="link">
              <td>{m.name}</td>
              <td>{fmt(m.parameterCount)}</td>
              <td>{opset(m)}</td>
              <td>{m.autodiffSupported ? 'yes' : `no (${m.unsupportedOps.join(', ')})`}</td>
              <td>{fmt(m.sizeBytes)} B</td>
              <td>{when(m.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

interface ModelDetail extends ModelRow {
  sha256: string;
  irVersion: number;
  producer: { name: string; version: string };
  inputs: Array<{ name: string; dtype: string; shape: string[] | null }>;
  outputs: Array<{ name: string; dtype: string; shape: string[] | null }>;
  opHistogram: Array<{ opType: string; count: number }>;
  analyses: AnalysisRow[];
  saliencyLayers: Array<{ name: string; op: string; kind: string; shape: number[] }> | null;
}

const tensorText = (t: { name: string; dtype: string; shape: string[] | null }) => `${t.name}: ${t.dtype}[${t.shape ? t.shape.join(', ') : '?'}]`;

export function ModelPage({ id }: { id: string }) {
  const q = useQuery<{ model: ModelDetail }>(
    `query($id: ID!) { model(id: $id) { ${MODEL_FIELDS} sha256 irVersion producer { name version } inputs { name dtype shape } outputs { name dtype shape } opHistogram { opType count }
      saliencyLayers { name op kind shape } analyses(limit: 20) { id analyzer status progress cached createdAt durationMs model { name } dataset { name } } } }`,
    { id },
  );
  const m = q.data?.model;
  if (!m) return <ErrorLine error={q.error} />;
  return (
    <div data-testid="model-summary">
      <h2>Model {m.name}</h2>
      <p>
        <a href={`#/analyses/new?model=${m.id}`} class="button">
          Analyze this model
        </a>
      </p>
      <Section title="Summary">
        <Facts
          rows={[
            ['parameters', <span data-testid="parameter-count">{fmt(m.parameterCount)}</span>],
            ['opset', m.opsetImports.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')],
            ['IR version', m.irVersion],
            ['producer', `${m.producer.name} ${m.producer.version}`],
            ['inputs', m.inputs.map(tensorText).join('; ')],
            ['outputs', m.outputs.map(tensorText).join('; ')],
            [
              'autodiff',
              <span data-testid="autodiff">{m.autodiffSupported ? 'supported: gradients and Hessians can run' : `not supported — ops without a gradient rule: ${m.unsupportedOps.join(', ')}`}</span>,
            ],
            ['sha256', <code>{m.sha256}</code>],
          ]}
        />
      </Section>
      <Section title="Saliency layers">
        {m.saliencyLayers === null ? (
          <p>Shapes depend on the data: a saliency analysis lists the layers once a dataset fixes them.</p>
        ) : m.saliencyLayers.length === 0 ? (
          <p>No intermediate tensor with a spatial map (saliency can still map the input gradient).</p>
        ) : (
          <table data-testid="saliency-layers">
            <thead>
              <tr><th>layer param</th><th>op</th><th>kind</th><th>shape</th></tr>
            </thead>
            <tbody>
              {m.saliencyLayers.map((l) => (
                <tr key={l.name}><td><code>{l.name}</code></td><td>{l.op}</td><td>{l.kind}</td><td>{l.shape.join(' × ')}</td></tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="Ops">
        <Bars items={m.opHistogram.map((o) => ({ label: o.opType, value: o.count }))} />
      </Section>
      <Section title="Analyses of this model">
        <AnalysisTable rows={m.analyses} />
      </Section>
    </div>
  );
}
