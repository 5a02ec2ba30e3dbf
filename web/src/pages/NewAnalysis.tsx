/** Start an analysis: model, dataset, analyzer, and a form generated from the analyzer's param specs. */
import { useEffect, useState } from 'preact/hooks';
import { gql } from '../api';
import { go, useAction, useQuery } from '../hooks';
import { useSession } from '../session';
import { ErrorLine } from '../ui';

export interface ParamSpec {
  name: string;
  type: string;
  description: string;
  default: unknown;
  min: number | null;
  max: number | null;
  choices: string[] | null;
}

interface AnalyzerInfo {
  name: string;
  description: string;
  needsDataset: boolean;
  parameters: ParamSpec[];
}

const defaultText = (v: unknown) => (v === null || v === undefined ? '' : Array.isArray(v) ? v.join(',') : String(v));

/** The typed value of a form field, or undefined to leave the param to its default. */
export function parseParam(spec: ParamSpec, text: string): unknown {
  const t = text.trim();
  if (t === '' || t === defaultText(spec.default)) return undefined;
  const list = () => t.split(',').map((s) => s.trim()).filter((s) => s !== '');
  switch (spec.type) {
    case 'int':
    case 'float':
      return Number(t);
    case 'bool':
      return t === 'true';
    case 'intList':
    case 'floatList':
      return list().map(Number);
    case 'stringList':
      return list();
    default:
      return t;
  }
}

function ParamField({ spec, value, onChange }: { spec: ParamSpec; value: string; onChange: (v: string) => void }) {
  const id = `param-${spec.name}`;
  const range = spec.min !== null || spec.max !== null ? ` [${spec.min ?? '−∞'}, ${spec.max ?? '∞'}]` : '';
  let input;
  if (spec.type === 'enum' || spec.type === 'bool') {
    const choices = spec.type === 'bool' ? ['true', 'false'] : (spec.choices ?? []);
    input = (
      <select id={id} name={spec.name} value={value || defaultText(spec.default)} onChange={(e) => onChange(e.currentTarget.value)}>
        {spec.default === null && <option value="">(unset)</option>}
        {choices.map((c) => (
          <option value={c}>{c}</option>
        ))}
      </select>
    );
  } else {
    const common = { id, name: spec.name, placeholder: defaultText(spec.default), value, onInput: (e: Event) => onChange((e.currentTarget as HTMLInputElement).value) };
    input =
      spec.type === 'int' || spec.type === 'float' ? (
        <input {...common} type="number" min={spec.min ?? undefined} max={spec.max ?? undefined} step={spec.type === 'int' ? 1 : 'any'} />
      ) : (
        <input {...common} type="text" />
      );
  }
  return (
    <div class="param">
      <label for={id}>
        <b>{spec.name}</b> <span class="type">{spec.type}{range}</span>
        {spec.default !== null && <span class="type"> default {defaultText(spec.default) || '""'}</span>}
      </label>
      {input}
      <small>{spec.description}</small>
    </div>
  );
}

export function NewAnalysisPage({ query }: { query: URLSearchParams }) {
  const q = useQuery<{ analyzers: AnalyzerInfo[]; models: Array<{ id: string; name: string }>; datasets: Array<{ id: string; name: string }> }>(
    `{ analyzers { name description needsDataset parameters { name type description default min max choices } } models { id name } datasets { id name } }`,
  );
  const { canWrite } = useSession();
  const [modelId, setModelId] = useState(query.get('model') ?? '');
  const [datasetId, setDatasetId] = useState(query.get('dataset') ?? '');
  const [analyzer, setAnalyzer] = useState(query.get('analyzer') ?? 'evaluate');
  const [values, setValues] = useState<Record<string, string>>({});
  const { busy, error, run } = useAction();
  const data = q.data;
  useEffect(() => {
    if (!data) return;
    if (!modelId && data.models[0]) setModelId(data.models[0].id);
    if (!datasetId && data.datasets[0]) setDatasetId(data.datasets[0].id);
  }, [data]);
  if (!data) return <ErrorLine error={q.error} />;
  const info = data.analyzers.find((a) => a.name === analyzer);
  const submit = (e: Event) => {
    e.preventDefault();
    if (!info) return;
    void run(async () => {
      const params: Record<string, unknown> = {};
      for (const spec of info.parameters) {
        const v = parseParam(spec, values[spec.name] ?? '');
        if (v !== undefined) params[spec.name] = v;
      }
      const r = await gql<{ runAnalysis: { id: string } }>(`mutation($input: RunAnalysisInput!) { runAnalysis(input: $input) { id } }`, {
        input: { modelId, datasetId: info.needsDataset || datasetId ? datasetId || null : null, analyzer, params },
      });
      go(`/analyses/${r.runAnalysis.id}`);
    });
  };
  return (
    <form onSubmit={submit} data-testid="new-analysis">
      <h2>New analysis</h2>
      <div class="row">
        <label>
          model{' '}
          <select name="model" value={modelId} onChange={(e) => setModelId(e.currentTarget.value)}>
            {data.models.map((m) => (
              <option value={m.id}>{m.name}</option>
            ))}
          </select>
        </label>
        <label>
          dataset{' '}
          <select name="dataset" value={datasetId} onChange={(e) => setDatasetId(e.currentTarget.value)}>
            <option value="">(none)</option>
            {data.datasets.map((d) => (
              <option value={d.id}>{d.name}</option>
            ))}
          </select>
        </label>
        <label>
          analyzer{' '}
          <select
            name="analyzer"
            value={analyzer}
            onChange={(e) => {
              setAnalyzer(e.currentTarget.value);
              setValues({});
            }}
          >
            {data.analyzers.map((a) => (
              <option value={a.name}>{a.name}</option>
            ))}
          </select>
        </label>
      </div>
      {info && <p class="hint">{info.description}</p>}
      <div class="params">{info?.parameters.map((spec) => <ParamField spec={spec} value={values[spec.name] ?? ''} onChange={(v) => setValues({ ...values, [spec.name]: v })} />)}</div>
      <ErrorLine error={error} />
      <button type="submit" disabled={busy || !canWrite || !modelId} title={canWrite ? '' : 'needs a token with the write scope'}>
        Run {analyzer}
      </button>
    </form>
  );
}
