/**
 * Runs fuzz cases against a running server and classifies each answer:
 *   refused   - an error with a code other than INTERNAL (what every case should get)
 *   accepted  - the input was taken; an analysis on it then succeeded or failed with a code
 *   internal  - INTERNAL, a 5xx without a code, or an error without a code
 *   hang      - no answer (or no terminal job state) in time
 *   crash     - the server stopped answering
 * Afterwards every result read during the run must read back unchanged.
 */
import { Rng } from '../../common/random.js';
import { HangError, RUN_ANALYSIS, UPLOAD_DATASET, UPLOAD_MODEL, errorCode, type Client, type GqlReply } from './client.js';
import type { FuzzClass, FuzzInput } from './fuzzCases.js';

export type Outcome = 'refused' | 'accepted' | 'internal' | 'hang' | 'crash';

export interface CaseResult {
  cls: string;
  index: number;
  outcome: Outcome;
  /** The error code (refused), or the follow-up analysis' status/code (accepted). */
  code: string;
  message: string;
  ms: number;
}

export interface ClassSummary {
  cls: string;
  what: string;
  cases: number;
  refused: number;
  accepted: number;
  internal: number;
  hang: number;
  crash: number;
  /** code -> count. */
  codes: Record<string, number>;
}

export interface FuzzReport {
  classes: ClassSummary[];
  /** Every case that was internal, a hang or a crash (what a run must not have). */
  failures: CaseResult[];
  /** Results read during the run that read back unchanged at the end / all of them. */
  readBack: { ok: number; total: number };
  aliveAfter: boolean;
  seconds: number;
}

export interface FuzzOptions {
  classes: FuzzClass[];
  /** Cases per class (a class may list its own count in `counts`). */
  perClass: number;
  counts?: Record<string, number>;
  seed: number;
  /** Ids of the valid model and dataset (uploaded by the caller) that params cases use. */
  modelId: string;
  datasetId: string;
  /** Limit of one request, ms. */
  requestTimeoutMs: number;
  /** Limit of waiting for a queued job, ms (a little over the server's job timeout). */
  jobWaitMs: number;
  /** Analyses the caller finished before fuzzing: must read back the same afterwards. */
  earlier?: Array<{ id: string; result: unknown }>;
  /** Checked after every case: is the server process still there? */
  alive?: () => boolean;
  onCase?: (r: CaseResult) => void;
}

const RESULT = `query($id: ID!) { analysis(id: $id) { id status resultJson } }`;

/** A GraphQL reply's verdict: a code, or internal when there is none or it is INTERNAL. */
function judge(r: GqlReply): { outcome: 'refused' | 'internal'; code: string; message: string } | null {
  const err = r.body.errors?.[0];
  if (!err) return r.status >= 500 ? { outcome: 'internal', code: `HTTP ${r.status}`, message: r.text.slice(0, 200) } : null;
  const code = errorCode(r) ?? '';
  if (!code || code === 'INTERNAL') return { outcome: 'internal', code: code || `HTTP ${r.status}`, message: err.message };
  return { outcome: 'refused', code, message: err.message };
}

export async function runFuzz(client: Client, opts: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const summaries: ClassSummary[] = [];
  const failures: CaseResult[] = [];
  const readBack: Array<{ id: string; result: unknown }> = [...(opts.earlier ?? [])];
  let crashed = false;

  /** Runs an analysis on an accepted input; its terminal state decides the case. */
  const followUp = async (input: { modelId: string; datasetId?: string; analyzer: string; params?: Record<string, unknown> }) => {
    const r = await client.gql(RUN_ANALYSIS, { input }, { timeoutMs: opts.requestTimeoutMs });
    const refused = judge(r);
    if (refused) return refused;
    const a = r.body.data!.runAnalysis;
    const done = a.status === 'SUCCEEDED' || a.status === 'FAILED' ? a : await client.waitFor(a.id, opts.jobWaitMs);
    if (done.status === 'SUCCEEDED') {
      const res = await client.gql(RESULT, { id: done.id });
      readBack.push({ id: done.id, result: res.body.data?.analysis?.resultJson });
      return { outcome: 'accepted' as const, code: 'SUCCEEDED', message: '' };
    }
    const code = done.error?.code ?? '';
    if (!code || code === 'INTERNAL') return { outcome: 'internal' as const, code: code || done.status, message: done.error?.message ?? '' };
    return { outcome: 'accepted' as const, code: `job ${code}`, message: done.error?.message ?? '' };
  };

  const runOne = async (input: FuzzInput) => {
    if (input.kind === 'params') {
      return followUp({ modelId: opts.modelId, datasetId: input.withDataset ? opts.datasetId : undefined, analyzer: input.analyzer, params: input.params });
    }
    if (input.kind === 'model') {
      const r = await client.upload(UPLOAD_MODEL, {}, input, { timeoutMs: opts.requestTimeoutMs });
      const verdict = judge(r);
      if (verdict) return verdict;
      // Accepted: running it must end in a result or a coded error too.
      const modelId = r.body.data!.uploadModel.id;
      const w = await followUp({ modelId, analyzer: 'weights', params: { shuffledControl: false } });
      if (w.outcome === 'internal') return w;
      return followUp({ modelId, datasetId: opts.datasetId, analyzer: 'evaluate' });
    }
    const r = await client.upload(UPLOAD_DATASET, { modelId: opts.modelId }, input, { timeoutMs: opts.requestTimeoutMs });
    const verdict = judge(r);
    if (verdict) return verdict;
    return followUp({ modelId: opts.modelId, datasetId: r.body.data!.uploadDataset.id, analyzer: 'evaluate' });
  };

  for (const cls of opts.classes) {
    const rng = new Rng(opts.seed ^ hash(cls.name));
    const s: ClassSummary = { cls: cls.name, what: cls.what, cases: 0, refused: 0, accepted: 0, internal: 0, hang: 0, crash: 0, codes: {} };
    summaries.push(s);
    const n = opts.counts?.[cls.name] ?? opts.perClass;
    for (let i = 0; i < n && !crashed; i++) {
      const input = cls.make(rng, i);
      const t0 = performance.now();
      let res: { outcome: Outcome; code: string; message: string };
      try {
        res = await runOne(input);
      } catch (err) {
        if (err instanceof HangError) res = { outcome: 'hang', code: 'no answer', message: err.message };
        else res = { outcome: 'crash', code: 'connection', message: (err as Error).message };
      }
      if (opts.alive && !opts.alive()) res = { outcome: 'crash', code: 'server exited', message: res.message };
      if (res.outcome === 'crash') crashed = true;
      const result: CaseResult = { cls: cls.name, index: i, ...res, ms: performance.now() - t0 };
      s.cases++;
      s[res.outcome]++;
      s.codes[res.code] = (s.codes[res.code] ?? 0) + 1;
      if (res.outcome === 'internal' || res.outcome === 'hang' || res.outcome === 'crash') failures.push(result);
      opts.onCase?.(result);
    }
  }

  let ok = 0;
  let aliveAfter = false;
  if (!crashed) {
    const r = await client.gql('{ models { id } }').catch(() => null);
    aliveAfter = !!r?.body.data?.models;
    for (const { id, result } of readBack) {
      const again = await client.gql(RESULT, { id }).catch(() => null);
      if (again?.body.data?.analysis?.status === 'SUCCEEDED' && JSON.stringify(again.body.data.analysis.resultJson) === JSON.stringify(result)) ok++;
    }
  }
  return { classes: summaries, failures, readBack: { ok, total: readBack.length }, aliveAfter, seconds: (Date.now() - started) / 1000 };
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
