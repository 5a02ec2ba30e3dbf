/** Datasets: upload (optionally checked against a model), the list, previews and label histograms. */
import { useState } from 'preact/hooks';
import { upload } from '../api';
import { go, useAction, useQuery } from '../hooks';
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

/** The upload's preprocessing options: [field, hint, choices]; numbers and lists are typed as text. */
const PREP_FIELDS: Array<[string, string, string[] | null]> = [
  ['scale', 'multiplies every value first, e.g. 0.00392156862745098 (1/255) for 0..255 pixels', null],
  ['mean', 'subtracted per channel after scaling: one value, or one per channel (comma-separated)', null],
  ['std', 'divides per channel after the mean (comma-separated)', null],
  ['layout', 'the layout the samples are stored in', ['NCHW', 'NHWC']],
  ['channelOrder', 'the channel order the model takes (data is read as RGB)', ['RGB', 'BGR']],
  ['dtype', 'cast the values (round to nearest and clamp)', ['float32', 'uint8', 'int8']],
  ['labelColumn', 'CSV: the label column by header name (default the first column)', null],
  ['classes', 'class names in index order (comma-separated)', null],
];

const NUMBER_LISTS = new Set(['mean', 'std']);

function preprocessingInput(prep: Record<string, string>): Record<string, unknown> | null {
  const out: Record<string, unknown> = {};
  for (const [k, raw] of Object.entries(prep)) {
    const v = raw.trim();
    if (v === '') continue;
    const list = () => v.split(',').map((s) => s.trim()).filter((s) => s !== '');
    out[k] = k === 'scale' ? Number(v) : NUMBER_LISTS.has(k) ? list().map(Number) : k === 'classes' ? list() : v;
  }
  return Object.keys(out).length > 0 ? out : null;
}

export function DatasetsPage() {
  const list = useQuery<{ datasets: DatasetRow[]; models: Array<{ id: string; name: string }> }>(`{ datasets { ${FIELDS} } models { id name } }`);
  const { canWrite } = useSession();
  const [modelId, setModelId] = useState('');
  const [prep, setPrep] = useState<Record<string, string>>({});
  const { busy, error, run } = useAction();
  const onFile = (file: File) =>
    run(async () => {
      const r = await upload<{ uploadDataset: { id: string } }>(
        `mutation($file: Upload!, $name: String, $modelId: ID, $pre: PreprocessingInput) { uploadDataset(file: $file, name: $name, modelId: $modelId, preprocessing: $pre) { id } }`,
        { name: file.name, modelId: modelId || null, pre: preprocessingInput(prep) },
        file,
      );
      go(`/datasets/${r.uploadDataset.id}`);
    });
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
      <details class="card">
        <summary>Preprocessing (optional; part of the dataset's identity)</summary>
        <div class="params">
          {PREP_FIELDS.map(([name, hint, choices]) => (
            <div class="param">
              <label for={`prep-${name}`}>
                <b>{name}</b>
              </label>
              {choices ? (
                <select id={`prep-${name}`} name={`prep-${name}`} value={prep[name] ?? ''} onChange={(e) => setPrep({ ...prep, [name]: e.currentTarget.value })}>
                  <option value="">(default)</option>
                  {choices.map((c) => (
                    <option value={c}>{c}</option>
                  ))}
                </select>
              ) : (
                <input id={`prep-${name}`} name={`prep-${name}`} type="text" value={prep[name] ?? ''} onInput={(e) => setPrep({ ...prep, [name]: e.currentTarget.value })} />
              )}
              <small>{hint}</small>
            </div>
          ))}
        </div>
      </details>
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

interface Detail extends DatasetRow {
  sha256: string;
  valueRange: number[] | null;
  rawValueRange: number[] | null;
  labelHistogram: number[] | null;
  labelNote: string | null;
  samples: Array<{ index: number; label: number | null; values: number[] }>;
}

export function DatasetPage({ id }: { id: string }) {
  const q = useQuery<{ dataset: Detail }>(
    `query($id: ID!) { dataset(id: $id) { ${FIELDS} sha256 valueRange rawValueRange labelHistogram labelNote samples(limit: 24) { index label values } } }`,
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
            ['values', `${d.valueRange ? `[${d.valueRange.map((v) => fmt(v, 3)).join(', ')}] as the model sees them` : '—'}${d.rawValueRange ? `, [${d.rawValueRange.map((v) => fmt(v, 3)).join(', ')}] as stored` : ''}`],
            ...(d.labelNote ? ([['labels', d.labelNote]] as Array<[string, string]>) : []),
            ['sha256', <code>{d.sha256}</code>],
          ]}
        />
      </Section>
      <Section title="Samples" testId="dataset-samples">
        {shape ? (
          <div class="gallery">
            {d.samples.map((s) => (
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
              {d.samples.slice(0, 10).map((s) => (
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
      {d.labelHistogram && (
        <Section title="Label histogram" testId="label-histogram">
          <Bars items={d.labelHistogram.map((count, label) => ({ label: d.classes?.[label] ?? String(label), value: count }))} />
        </Section>
      )}
    </div>
  );
}
