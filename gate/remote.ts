/**
 * Gate analyses on a running onnxscope server, over its GraphQL API with a bearer token:
 * uploads (multipart, content-addressed, so unchanged files are stored once), runAnalysis
 * (answered at once from the server's cache when it can), then polling until each job ends.
 * All runs are queued before the first wait, so the server's worker pool runs them side by side.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, isErrorCode } from '../common/errors.js';
import { TERMINAL_STATUSES, type AnalysisStatus } from '../service/records.js';
import type { Analyzer, ParamSpec } from '../analyzers/types.js';
import type { AnalysisAnswer, GateBackend, StoredRef } from './backend.js';

const STATE_FIELDS = 'id status progress message cached durationMs error { code message }';
/** Consecutive failed polls (a proxy's 502, a restarting server) tolerated before giving up. */
const POLL_RETRIES = 6;

interface GqlError {
  message: string;
  extensions?: { code?: string };
}

interface AnalysisState {
  id: string;
  status: AnalysisStatus;
  progress: number;
  message: string | null;
  cached: boolean;
  durationMs: number | null;
  error: { code: string; message: string } | null;
}

interface RemoteAnalyzer {
  name: string;
  version: number;
  description: string;
  needsDataset: boolean;
  parameters: Array<Omit<ParamSpec, 'default' | 'min' | 'max' | 'choices'> & { default: ParamSpec['default'] | null; min: number | null; max: number | null; choices: string[] | null }>;
}

export interface RemoteGateBackend extends GateBackend {
  /**
   * The analyzers the server runs, for checking a config against them: a local analyzer of the
   * same name and version as itself (with its own request checks), else the server's specs.
   */
  analyzers(local: Analyzer[]): Promise<{ analyzers: Analyzer[]; warnings: string[] }>;
}

export function remoteBackend(server: string, token: string | undefined, pollMs = 250): RemoteGateBackend {
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

  const stateOf = async (id: string) => (await gql(`query($id: ID!) { analysis(id: $id) { ${STATE_FIELDS} } }`, { id })).analysis as AnalysisState;

  async function answer(a: AnalysisState): Promise<AnalysisAnswer> {
    if (a.status !== 'SUCCEEDED') {
      const code = a.error?.code;
      throw new AppError(isErrorCode(code) ? code : 'INTERNAL', a.error?.message ?? `analysis ${a.id} ended ${a.status}`);
    }
    // The result only once it exists: it can be large, and polls should stay small.
    const data = await gql('query($id: ID!) { analysis(id: $id) { resultJson } }', { id: a.id });
    return { analysisId: a.id, cached: a.cached, result: (data.analysis as { resultJson: unknown }).resultJson, durationMs: a.cached ? null : a.durationMs };
  }

  const cancel = async (id: string) => {
    await gql('mutation($id: ID!) { cancelAnalysis(id: $id) { id } }', { id }).catch(() => undefined);
  };

  return {
    where: redact(endpoint),
    async analyzers(local) {
      const data = await gql('{ analyzers { name version description needsDataset parameters { name type description default min max choices } } }', {});
      const warnings: string[] = [];
      const analyzers = (data.analyzers as RemoteAnalyzer[]).map((info): Analyzer => {
        const mine = local.find((a) => a.name === info.name);
        if (mine && mine.version === info.version) return mine;
        if (mine) warnings.push(`the server runs ${info.name} version ${info.version}, this command knows version ${mine.version}: its params are checked against the server's`);
        return {
          name: info.name,
          version: info.version,
          description: info.description,
          needsDataset: info.needsDataset,
          params: info.parameters.map((p) => ({
            name: p.name,
            type: p.type,
            description: p.description,
            ...(p.default !== null ? { default: p.default } : {}),
            ...(p.min !== null ? { min: p.min } : {}),
            ...(p.max !== null ? { max: p.max } : {}),
            ...(p.choices !== null ? { choices: p.choices } : {}),
          })),
          run: () => Promise.reject(new AppError('INTERNAL', `${info.name} runs on the server`)),
        };
      });
      return { analyzers, warnings };
    },
    async addModel(bytes, name): Promise<StoredRef> {
      const data = await upload('mutation($file: Upload!, $name: String) { uploadModel(file: $file, name: $name) { id sha256 } }', { name }, bytes, `${name}.onnx`);
      return data.uploadModel as StoredRef;
    },
    async addDataset(bytes, filename, preprocessing): Promise<StoredRef> {
      const data = await upload(
        'mutation($file: Upload!, $name: String, $preprocessing: PreprocessingInput) { uploadDataset(file: $file, name: $name, preprocessing: $preprocessing) { id sha256 } }',
        { name: filename, preprocessing },
        bytes,
        filename,
      );
      return data.uploadDataset as StoredRef;
    },
    async submit(req) {
      const data = await gql(`mutation($input: RunAnalysisInput!) { runAnalysis(input: $input) { ${STATE_FIELDS} } }`, { input: req });
      const queued = data.runAnalysis as AnalysisState;
      return {
        async wait(progress, signal) {
          let state = queued;
          let failures = 0;
          try {
            while (!TERMINAL_STATUSES.includes(state.status)) {
              await sleep(pollMs * 2 ** failures, undefined, { signal });
              try {
                state = await stateOf(state.id);
                failures = 0;
              } catch (err) {
                if (++failures > POLL_RETRIES) throw err;
                continue;
              }
              progress(state.progress, state.message ?? undefined);
            }
          } catch (err) {
            // Our deadline or Ctrl-C: the job should not go on using the server.
            if (signal.aborted) await cancel(state.id);
            throw err;
          }
          return answer(state);
        },
        cancel: () => cancel(queued.id),
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
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AppError('BAD_PARAMS', `--server ${server}: expected an http:// or https:// URL`);
  if (!/\/graphql\/?$/.test(url.pathname)) url.pathname = `${url.pathname.replace(/\/$/, '')}/graphql`;
  return url.href;
}

/** The endpoint for reports: without user:password@, which reports must not carry. */
function redact(endpoint: string): string {
  const url = new URL(endpoint);
  url.username = '';
  url.password = '';
  return url.href;
}
