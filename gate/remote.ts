/**
 * Gate analyses on a running onnxscope server, over its GraphQL API with a bearer token:
 * uploads (multipart, content-addressed, so unchanged files are stored once), runAnalysis
 * (answered at once from the server's cache when it can), then polling until each job ends.
 * All runs are queued before the first wait, so the server's worker pool runs them side by side.
 */
import { AppError, isErrorCode } from '../common/errors.js';
import type { AnalysisAnswer, GateBackend, StoredRef } from './backend.js';

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const ANALYSIS_FIELDS = 'id status progress message cached resultJson error { code message }';

interface GqlError {
  message: string;
  extensions?: { code?: string };
}

interface AnalysisState {
  id: string;
  status: string;
  progress: number;
  message: string | null;
  cached: boolean;
  resultJson: unknown;
  error: { code: string; message: string } | null;
}

export function remoteBackend(server: string, token: string | undefined, pollMs = 250): GateBackend {
  const endpoint = graphqlEndpoint(server);
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};

  async function post(init: RequestInit): Promise<Record<string, unknown>> {
    let res: Response;
    try {
      res = await fetch(endpoint, { method: 'POST', ...init, headers: { ...auth, ...(init.headers as Record<string, string>) } });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new AppError('BAD_PARAMS', `--server ${server}: cannot reach it (${cause?.code ?? cause?.message ?? (err as Error).message})`);
    }
    let body: { data?: Record<string, unknown> | null; errors?: GqlError[] };
    try {
      body = (await res.json()) as typeof body;
    } catch {
      throw new AppError('BAD_PARAMS', `--server ${server}: HTTP ${res.status}, not a GraphQL response (is ${endpoint} an onnxscope server?)`);
    }
    const first = body.errors?.[0];
    if (first) {
      const code = first.extensions?.code;
      throw new AppError(isErrorCode(code) ? code : 'INTERNAL', `server: ${first.message}`);
    }
    if (!body.data) throw new AppError('INTERNAL', `server: HTTP ${res.status} without data`);
    return body.data;
  }

  const gql = (query: string, variables: Record<string, unknown>) =>
    post({ headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });

  /** A GraphQL multipart request (graphql-multipart-request-spec) with one file as $file. */
  function upload(query: string, variables: Record<string, unknown>, bytes: Uint8Array, filename: string) {
    const form = new FormData();
    form.set('operations', JSON.stringify({ query, variables: { ...variables, file: null } }));
    form.set('map', JSON.stringify({ 0: ['variables.file'] }));
    form.set('0', new Blob([bytes]), filename);
    // The server's CSRF prevention accepts multipart requests that carry this header.
    return post({ headers: { 'apollo-require-preflight': 'true' }, body: form });
  }

  const answer = (a: AnalysisState): AnalysisAnswer => {
    if (a.status === 'SUCCEEDED') return { analysisId: a.id, cached: a.cached, result: a.resultJson };
    const code = a.error?.code;
    throw new AppError(isErrorCode(code) ? code : 'INTERNAL', a.error?.message ?? `analysis ${a.id} ended ${a.status}`);
  };

  return {
    where: endpoint,
    async addModel(bytes, name): Promise<StoredRef> {
      const data = await upload('mutation($file: Upload!, $name: String) { uploadModel(file: $file, name: $name) { id sha256 } }', { name }, bytes, `${name}.onnx`);
      return data.uploadModel as StoredRef;
    },
    async addDataset(bytes, filename): Promise<StoredRef> {
      const data = await upload('mutation($file: Upload!, $name: String) { uploadDataset(file: $file, name: $name) { id sha256 } }', { name: filename }, bytes, filename);
      return data.uploadDataset as StoredRef;
    },
    async submit(req) {
      const data = await gql(`mutation($input: RunAnalysisInput!) { runAnalysis(input: $input) { ${ANALYSIS_FIELDS} } }`, { input: req });
      const queued = data.runAnalysis as AnalysisState;
      return {
        async wait(progress) {
          let state = queued;
          while (!TERMINAL.has(state.status)) {
            await new Promise((r) => setTimeout(r, pollMs));
            state = (await gql(`query($id: ID!) { analysis(id: $id) { ${ANALYSIS_FIELDS} } }`, { id: state.id })).analysis as AnalysisState;
            progress(state.progress, state.message ?? undefined);
          }
          return answer(state);
        },
      };
    },
    close: async () => undefined,
  };
}

/** http://host:4000, http://host:4000/ and http://host:4000/graphql all mean the same endpoint. */
function graphqlEndpoint(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new AppError('BAD_PARAMS', `--server ${server}: not a URL (e.g. http://localhost:4000)`);
  }
  if (!/\/graphql\/?$/.test(url.pathname)) url.pathname = `${url.pathname.replace(/\/$/, '')}/graphql`;
  return url.href;
}
