/** Datasets: upload (optionally checked against a model), the list, previews and label histograms. */
import { useState } from 'preact/hooks';
import { errorText, upload } from '../api';
import { go, useQuery } from '../hooks';
import { useSession } from '../session';
import { DropZone, ErrorLine, Facts, Section, fmt, when } from '../ui';
import { Bars } from '../plots/Bars';
import { SampleImage, imageShape } from '../plots/SampleImage';

interface DatasetRow {
  id: string;
  name: string;
  format: string;
  count: number;
  sampleShape: number[];
  hasLabels: boolean;
  classes: string[] | null;
  sizeBytes: number;
  createdAt: string;
}

const FIELDS = 'id name format count sampleShape hasLabels classes sizeBytes createdAt';

export function DatasetsPage() {
  const list = useQuery<{ datasets: DatasetRow[]; models: Array<{ id: string; name: string }> }>(`{ datasets { ${FIELDS} } models { id name } }`);
  const { canWrite } = useSession();
  const [modelId, setModelId] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const onFile = async (file: File) => {
    setBusy(true);
    setError(null);
    try {
      const r = await upload<{ uploadDataset: { id: string } }>(
        `mutation($file: Upload!, $name: String, $modelId: ID) { uploadDataset(file: $file, name: $name, modelId: $modelId) { id } }`,
        { name: file.name, modelId: modelId || null },
        file,
      );
      go(`/datasets/${r.uploadDataset.id}`);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div>
      <h2>Datasets</h2>
      {!canWrite && <p class="note">Read-only token: the server refuses uploads (they need the write scope).</p>}
      <p>
        <label>
          Check against model{' '}
          <select value={modelId} onChange={(e) => setModelId(e.currentTarget.value)} data-testid="dataset-model">
            <option value="">(none)</option>
            {list.data?.models.map((m) => (
              <option value={m.id}>{m.name}</option>
            ))}
          </select>
        </label>{' '}
        <span class="hint">.npz with x and y, CSV with the label first, or a .zip of class folders. With a model the samples must fit its input.</span>
      </p>
      <DropZone label="Drop a dataset (.npz, .csv, .zip) here, or click to choose one" accept=".npz,.csv,.zip" onFile={onFile} busy={busy} testId="dataset-drop" />
      <ErrorLine error={error ?? list.error} />
      <table class="list" data-testid="datasets">
        <thead>
          <tr>
            <th>name</th>
            <th>format</th>
            <th>samples</th>
            <th>sample shape</th>
            <th>labels</th>
            <th>uploaded</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.datasets.map((d) => (
            <tr class="link" onClick={() => go(`/datasets/${d.id}`)}>
              <td>{d.name}</td>
              <td>{d.format}</td>
              <td>{fmt(d.count)}</td>
              <td>[{d.sampleShape.join(', ')}]</td>
              <td>{d.hasLabels ? 'yes' : 'no'}</td>
              <td>{when(d.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

interface Preview {
  samples: Array<{ index: number; label: number | null; values: number[] }>;
  labelHistogram: Array<{ label: number; name: string | null; count: number }>;
}

export function DatasetPage({ id }: { id: string }) {
  const q = useQuery<{ dataset: DatasetRow & { sha256: string; preview: Preview } }>(
    `query($id: ID!) { dataset(id: $id) { ${FIELDS} sha256 preview(limit: 24) { samples { index label values } labelHistogram { label name count } } } }`,
    { id },
  );
  const d = q.data?.dataset;
  if (!d) return <ErrorLine error={q.error} />;
  const shape = imageShape(d.sampleShape);
  return (
    <div data-testid="dataset-summary">
      <h2>Dataset {d.name}</h2>
      <Section title="Summary">
        <Facts
          rows={[
            ['format', d.format],
            ['samples', <span data-testid="sample-count">{fmt(d.count)}</span>],
            ['sample shape', `[${d.sampleShape.join(', ')}]`],
            ['classes', d.classes?.join(', ') ?? (d.hasLabels ? 'integer labels' : 'no labels')],
            ['sha256', <code>{d.sha256}</code>],
          ]}
        />
      </Section>
      <Section title="Samples" testId="dataset-samples">
        {shape ? (
          <div class="gallery">
            {d.preview.samples.map((s) => (
              <figure>
                <SampleImage values={s.values} shape={shape} title={`sample ${s.index}`} />
                <figcaption>
                  #{s.index} {s.label === null ? '' : `label ${d.classes?.[s.label] ?? s.label}`}
                </figcaption>
              </figure>
            ))}
          </div>
        ) : (
          <table class="list">
            <tbody>
              {d.preview.samples.slice(0, 10).map((s) => (
                <tr>
                  <td>#{s.index}</td>
                  <td>{s.label ?? '—'}</td>
                  <td>
                    {s.values
                      .slice(0, 12)
                      .map((v) => fmt(v, 3))
                      .join(', ')}
                    {s.values.length > 12 ? ', …' : ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      {d.preview.labelHistogram.length > 0 && (
        <Section title="Label histogram" testId="label-histogram">
          <Bars items={d.preview.labelHistogram.map((l) => ({ label: l.name ?? String(l.label), value: l.count }))} />
        </Section>
      )}
    </div>
  );
}
