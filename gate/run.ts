/**
 * Runs a checked gate config on a backend and judges its rules. Two phases: every input is
 * stored and every analysis request checked first (a problem there is bad input, and nothing
 * has run); then the analyses run, and a failing analysis turns its rules into errors.
 */
import path from 'node:path';
import { AppError, toAppError } from '../common/errors.js';
import { readInputFile } from '../common/inputFile.js';
import { warningsOf } from '../service/jobs/execute.js';
import type { AnalysisRequest, GateBackend, StoredRef, Submitted } from './backend.js';
import type { GateConfig, GateRule } from './config.js';
import { formatPath, valueAt } from './fields.js';
import { compare, thresholdOf, type Operator } from './rule.js';

export type Role = 'candidate' | 'baseline';

export interface AnalysisOutcome {
  analysis: string;
  analyzer: string;
  role: Role;
  label: string | null;
  params: Record<string, unknown>;
  analysisId: string | null;
  cached: boolean;
  durationMs: number;
  error: { code: string; message: string } | null;
  /** The result's warnings (e.g. inputs far outside the range the model expects). */
  warnings: string[];
}

export interface RuleOutcome {
  /** The rule's name, with the run's label for swept or per-property analyses. */
  name: string;
  rule: string;
  analysis: string;
  /** The field as resolved in the result, e.g. trace.estimate. */
  field: string;
  label: string | null;
  line: number;
  op: Operator;
  /** Time of the analyses this rule read (candidate, and baseline where it has one). */
  durationMs: number;
  /** warn: a warn-only rule that failed or could not be judged (the message says which). */
  status: 'pass' | 'fail' | 'error' | 'warn';
  observed: unknown;
  threshold: unknown;
  baseline: unknown;
  message: string;
}

export interface GateReport {
  config: string;
  where: string;
  model: { file: string; sha256: string };
  baseline: { file: string; sha256: string } | null;
  data: string | null;
  passed: boolean;
  counts: { rules: number; passed: number; failed: number; errors: number; warnings: number; analyses: number; cached: number };
  durationMs: number;
  startedAt: string;
  analyses: AnalysisOutcome[];
  rules: RuleOutcome[];
}

export interface GateEvents {
  /** An analysis starts: index from 1 of total. */
  analysis(index: number, total: number, what: string): void;
  progress(fraction: number, message?: string): void;
}

interface PendingRun {
  outcome: AnalysisOutcome;
  submitted: Submitted;
  result?: unknown;
}

/** Runs are told apart by position, not label: labels are for people. */
const runKey = (analysis: string, role: Role, index: number) => `${analysis}\u0000${role}\u0000${index}`;

/**
 * signal: the gate's Ctrl-C or deadline. An abort stops the gate (the analysis under way is
 * cancelled, the error rethrown); a failing analysis only turns its rules into errors.
 */
export async function runGate(config: GateConfig, backend: GateBackend, events: GateEvents, signal: AbortSignal): Promise<GateReport> {
  const startedAt = new Date();
  const started = performance.now();

  // Phase 1: store inputs, check every request.
  const model = await storeModel(backend, config.model!);
  const baseline = config.baseline ? await storeModel(backend, config.baseline) : null;
  const datasets = new Map<string, StoredRef>();
  for (const file of new Set(config.analyses.flatMap((a) => a.runs.map((r) => r.data)).filter((d): d is string => d !== null))) {
    datasets.set(file, await backend.addDataset(await readInputFile(file, 'data'), path.basename(file), config.preprocessing));
  }
  const needsBaseline = new Set(config.rules.filter((r) => r.expected.kind === 'baseline').map((r) => r.analysis));
  const pending: PendingRun[] = [];
  const byKey = new Map<string, PendingRun>();
  try {
    for (const analysis of config.analyses) {
      const roles: Array<[Role, StoredRef]> = [['candidate', model]];
      if (baseline && needsBaseline.has(analysis.key)) roles.push(['baseline', baseline]);
      for (const [role, stored] of roles) {
        for (const [index, run] of analysis.runs.entries()) {
          const req: AnalysisRequest = {
            modelId: stored.id,
            datasetId: run.data ? datasets.get(run.data)!.id : null,
            analyzer: analysis.analyzer.name,
            params: run.params,
          };
          let submitted: Submitted;
          try {
            submitted = await backend.submit(req);
          } catch (err) {
            const e = toAppError(err);
            throw new AppError(e.code, `analyses.${analysis.key}${run.label ? ` [${run.label}]` : ''} (${role}): ${e.message}`);
          }
          const p: PendingRun = {
            outcome: { analysis: analysis.key, analyzer: analysis.analyzer.name, role, label: run.label, params: run.shown, analysisId: null, cached: false, durationMs: 0, error: null, warnings: [] },
            submitted,
          };
          pending.push(p);
          byKey.set(runKey(analysis.key, role, index), p);
        }
      }
    }
  } catch (err) {
    // Bad input means nothing runs: withdraw what a server has already queued.
    await Promise.all(pending.map((p) => p.submitted.cancel()));
    throw err;
  }

  // Phase 2: run (or wait for) each analysis.
  for (const [i, p] of pending.entries()) {
    const o = p.outcome;
    if (signal.aborted) {
      await Promise.all(pending.slice(i).map((q) => q.submitted.cancel()));
      throw signal.reason;
    }
    events.analysis(i + 1, pending.length, `${o.analysis}${o.label ? ` [${o.label}]` : ''}${o.role === 'baseline' ? ' on the baseline' : ''}`);
    const t0 = performance.now();
    try {
      const answer = await p.submitted.wait(events.progress, signal);
      o.analysisId = answer.analysisId;
      o.cached = answer.cached;
      p.result = answer.result;
      o.warnings = warningsOf(answer.result);
      // Where it ran: on a server, waiting here also counts time other jobs spent.
      o.durationMs = answer.durationMs ?? Math.round(performance.now() - t0);
    } catch (err) {
      if (signal.aborted) {
        await Promise.all(pending.slice(i + 1).map((q) => q.submitted.cancel()));
        throw signal.reason;
      }
      const e = toAppError(err);
      o.error = { code: e.code, message: e.message };
      o.durationMs = Math.round(performance.now() - t0);
    }
  }

  const rules = config.rules.flatMap((rule) => {
    const analysis = config.analyses.find((a) => a.key === rule.analysis)!;
    return analysis.runs.map((run, index) => {
      const outcome = judge(rule, run.label, byKey.get(runKey(rule.analysis, 'candidate', index))!, byKey.get(runKey(rule.analysis, 'baseline', index)));
      return rule.warn && outcome.status !== 'pass' ? { ...outcome, status: 'warn' as const, message: `${outcome.status === 'fail' ? 'failed' : 'could not be judged'} (warn only): ${outcome.message}` } : outcome;
    });
  });
  const analyses = pending.map((p) => p.outcome);
  const count = (s: RuleOutcome['status']) => rules.filter((r) => r.status === s).length;
  return {
    config: config.file,
    where: backend.where,
    model: { file: config.model!, sha256: model.sha256 },
    baseline: baseline ? { file: config.baseline!, sha256: baseline.sha256 } : null,
    data: config.data,
    passed: rules.every((r) => r.status === 'pass' || r.status === 'warn'),
    counts: {
      rules: rules.length,
      passed: count('pass'),
      failed: count('fail'),
      errors: count('error'),
      warnings: count('warn'),
      analyses: analyses.length,
      cached: analyses.filter((a) => a.cached).length,
    },
    durationMs: Math.round(performance.now() - started),
    startedAt: startedAt.toISOString(),
    analyses,
    rules,
  };
}

/** One rule on one run: pass, fail, or error (the analysis failed or left the field out). */
function judge(rule: GateRule, label: string | null, candidate: PendingRun, base: PendingRun | undefined): RuleOutcome {
  const field = formatPath(rule.field.path);
  const out: RuleOutcome = {
    name: label ? `${rule.name} [${label}]` : rule.name,
    rule: rule.text,
    analysis: rule.analysis,
    field,
    label,
    line: rule.line,
    op: rule.op,
    durationMs: candidate.outcome.durationMs + (base?.outcome.durationMs ?? 0),
    status: 'error',
    observed: null,
    threshold: null,
    baseline: null,
    message: '',
  };
  const failed = candidate.outcome.error ?? base?.outcome.error;
  if (failed) return { ...out, message: `${failed === base?.outcome.error ? 'the baseline ' : ''}analysis failed: ${failed.code}: ${failed.message}` };
  const observed = valueAt(candidate.result, rule.field.path);
  // Stored results are JSON, where NaN and infinities become null.
  if (observed === undefined || observed === null) {
    return { ...out, message: `the ${rule.analysis} result has no value for ${field} (absent, or not a finite number)` };
  }
  out.observed = observed;
  if (rule.expected.kind === 'baseline') {
    const b = valueAt(base!.result, rule.field.path);
    if (b === undefined || b === null) return { ...out, message: `the baseline's ${rule.analysis} result has no value for ${field} (absent, or not a finite number)` };
    out.baseline = b;
  }
  const threshold = thresholdOf(rule.expected, out.baseline);
  out.threshold = threshold ?? null;
  if (threshold === undefined) return { ...out, message: `cannot compute the threshold from the baseline's ${JSON.stringify(out.baseline)}` };
  const ok = compare(observed, rule.op, threshold);
  const [shownObserved, shownThreshold] = formatPair(observed, threshold);
  const seen = `${field} = ${shownObserved}`;
  const wanted = `${rule.op} ${shownThreshold}${out.baseline !== null && rule.expected.kind === 'baseline' ? ` (baseline ${formatValue(out.baseline)})` : ''}`;
  return { ...out, status: ok ? 'pass' : 'fail', message: ok ? `${seen}, ${wanted}` : `${seen}, expected ${wanted}` };
}

/** Numbers to 6 significant digits, everything else as JSON would show it. */
export function formatValue(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/**
 * Two values to show side by side: 6 significant digits, or as many as it takes to tell them
 * apart (so a failing 0.9699999 is not shown as ">= 0.97" next to 0.97).
 */
export function formatPair(a: unknown, b: unknown): [string, string] {
  if (typeof a !== 'number' || typeof b !== 'number' || a === b) return [formatValue(a), formatValue(b)];
  for (let digits = 6; digits < 17; digits++) {
    const [x, y] = [Number(a.toPrecision(digits)), Number(b.toPrecision(digits))];
    if (x !== y) return [String(x), String(y)];
  }
  return [String(a), String(b)];
}

async function storeModel(backend: GateBackend, file: string): Promise<StoredRef> {
  return backend.addModel(await readInputFile(file, 'model'), path.basename(file, '.onnx'));
}
