/**
 * gate.yml: which analyses to run and the rules their results must meet. Everything is checked
 * here, before anything runs: YAML syntax, keys, analyzer names, params (against the
 * analyzer's specs and its own cross-param checks, e.g. a VNNLIB text that parses), rule
 * syntax, fields (against the result's GraphQL type), operators and values against the
 * field's type, fields that a param must ask for, and that a dataset and a baseline exist where
 * needed. Every problem is reported with its line; see gate/README.md for the format.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { GraphQLSchema } from 'graphql';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Pair } from 'yaml';
import { isEmptyPreprocessing, parsePreprocessing, type Preprocessing } from '../datasets/preprocessing.js';
import { AppError } from '../common/errors.js';
import { validateParams } from '../analyzers/params.js';
import type { Analyzer, ParamValues } from '../analyzers/types.js';
import { resultTypeName } from '../schema/results/registry.js';
import { FieldError, formatPath, resolveField, type FieldRequirement, type ResolvedField } from './fields.js';
import { RuleSyntaxError, parseRule, type Expected, type Operator } from './rule.js';

/** One run of an analysis: its params (a sweep value or a VNNLIB property filled in). */
export interface GateRun {
  /** Which sweep value or property file, e.g. "eps=0.02" or "props/p1.vnnlib"; null for a single run. */
  label: string | null;
  params: Record<string, unknown>;
  /** The params as reports show them: a property file by its path and hash, not its text. */
  shown: Record<string, unknown>;
  /** Absolute path of the dataset this run uses, or null. */
  data: string | null;
}

export interface GateAnalysis {
  /** The name rules use: the key under `analyses:` (or the analyzer name for implicit ones). */
  key: string;
  analyzer: Analyzer;
  runs: GateRun[];
  line: number;
  /** Declared by a rule, not under analyses: its params are the defaults plus what rules need. */
  implicit: boolean;
}

export interface GateRule {
  /** A stable, human name: the rule text unless the config names it. */
  name: string;
  text: string;
  analysis: string;
  field: ResolvedField;
  op: Operator;
  expected: Expected;
  line: number;
  /** A warning only: reported when broken, but the gate still passes. */
  warn: boolean;
}

export interface GateConfig {
  /** The config file as the user named it (for messages). */
  file: string;
  model: string | null;
  data: string | null;
  /** How to prepare every dataset (datasets/preprocessing.ts): the config's, with the command line's keys over it. */
  preprocessing: Preprocessing | null;
  baseline: string | null;
  analyses: GateAnalysis[];
  rules: GateRule[];
}

/** Paths from the command line; they replace the config's own. */
export interface GateOverrides {
  model?: string;
  data?: string;
  baseline?: string;
  /** Keys replace the config's preprocessing keys. */
  preprocessing?: Preprocessing | null;
}

export interface GateConfigContext {
  schema: GraphQLSchema;
  analyzers: Analyzer[];
}

interface Problem {
  line: number;
  message: string;
}

const TOP_KEYS = ['model', 'data', 'preprocessing', 'baseline', 'analyses', 'rules'];
const ANALYSIS_KEYS = ['analyzer', 'data', 'params', 'sweep', 'vnnlib'];
const RULE_KEYS = ['rule', 'name', 'warn'];

/** Reads and checks a gate config file; BAD_CONFIG listing every problem with its line. */
export function loadGateConfig(file: string, overrides: GateOverrides, ctx: GateConfigContext): GateConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AppError('BAD_CONFIG', `--config ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  return parseGateConfig(text, file, overrides, ctx);
}

/** The YAML document with line numbers and problem collection. */
class Source {
  readonly lines = new LineCounter();
  readonly doc: Document;
  readonly problems: Problem[] = [];

  constructor(
    text: string,
    readonly file: string,
  ) {
    // merge: YAML 1.1 `<<:` merge keys, which configs sharing params tend to use.
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, merge: true });
    for (const e of this.doc.errors) {
      this.problems.push({ line: this.lines.linePos(e.pos[0]).line, message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '') });
    }
  }

  lineOf(node: unknown): number {
    const range = (node as Node | null)?.range;
    return range ? this.lines.linePos(range[0]).line : 1;
  }

  problem(node: unknown, message: string): void {
    this.problems.push({ line: this.lineOf(node), message });
  }

  /** A node's plain value, aliases and merge keys resolved (a problem, and undefined, when they cannot be). */
  value(node: Node | null | undefined): unknown {
    if (!node) return undefined;
    try {
      return node.toJS(this.doc);
    } catch (err) {
      this.problem(node, (err as Error).message);
      return undefined;
    }
  }

  /** A string scalar, or null (with a problem naming `what` when present but not a string). */
  string(node: Node | null | undefined, what: string): string | null {
    const v = this.value(node);
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') {
      this.problem(node, `${what}: expected a string, got ${JSON.stringify(v)}`);
      return null;
    }
    return v;
  }

  /** A mapping's pairs by key; unknown keys are problems. */
  entries(node: Node, allowed: string[], where: string): Map<string, Pair> {
    const out = new Map<string, Pair>();
    for (const pair of (node as unknown as { items: Pair[] }).items) {
      const key = this.value(pair.key as Node);
      if (typeof key !== 'string' || !allowed.includes(key)) {
        this.problem(pair.key, `unknown key ${JSON.stringify(key)} in ${where}; expected ${allowed.join(', ')}`);
        continue;
      }
      out.set(key, pair);
    }
    return out;
  }

  fail(): never {
    throw new AppError('BAD_CONFIG', this.problems.map((p) => `${this.file}:${p.line}: ${p.message}`).join('; '), { problems: this.problems });
  }
}

export function parseGateConfig(text: string, file: string, overrides: GateOverrides, ctx: GateConfigContext): GateConfig {
  const src = new Source(text, file);
  if (src.problems.length > 0) src.fail();
  const root = src.doc.contents;
  if (!isMap(root)) {
    src.problem(root, 'expected a mapping with analyses: and rules:');
    src.fail();
  }
  const top = src.entries(root as Node, TOP_KEYS, 'the config');
  const baseDir = path.dirname(path.resolve(file));
  const filePath = (key: string, override: string | undefined): string | null => {
    if (override) return path.resolve(override);
    const value = src.string(top.get(key)?.value as Node | undefined, key);
    return value === null ? null : path.resolve(baseDir, value);
  };
  const model = filePath('model', overrides.model);
  const data = filePath('data', overrides.data);
  const baseline = filePath('baseline', overrides.baseline);
  if (!model) src.problem(root, 'no model: set model: in the config or pass --model');
  const preprocessingNode = top.get('preprocessing')?.value as Node | undefined;
  let preprocessing: Preprocessing | null = null;
  try {
    const spec = { ...parsePreprocessing(src.value(preprocessingNode), 'preprocessing'), ...(overrides.preprocessing ?? {}) };
    preprocessing = isEmptyPreprocessing(spec) ? null : spec;
  } catch (err) {
    src.problem(preprocessingNode, (err as Error).message);
  }

  const scope: Scope = {
    src,
    baseDir,
    data,
    baseline,
    ctx,
    known: new Map(ctx.analyzers.map((a) => [a.name, a])),
    analyses: new Map(),
    broken: new Set(),
  };

  const analysesNode = top.get('analyses')?.value as Node | undefined;
  if (analysesNode && !isMap(analysesNode)) src.problem(analysesNode, 'analyses: expected a mapping of NAME: { analyzer, params, ... }');
  else if (analysesNode) {
    for (const pair of (analysesNode as unknown as { items: Pair[] }).items) {
      const key = src.value(pair.key as Node);
      if (typeof key !== 'string' || !/^[A-Za-z_][\w-]*$/.test(key)) {
        src.problem(pair.key, `analysis names are words (letters, digits, _ and -), got ${JSON.stringify(key)}`);
        continue;
      }
      const parsed = parseAnalysis(key, pair, scope);
      if (parsed) scope.analyses.set(key, parsed);
      else scope.broken.add(key);
    }
  }

  const rules: GateRule[] = [];
  const rulesNode = top.get('rules')?.value as Node | undefined;
  if (!rulesNode || !isSeq(rulesNode) || rulesNode.items.length === 0) {
    src.problem(rulesNode ?? root, 'rules: expected a list of at least one rule, e.g. - evaluate.accuracy >= 0.97');
  } else {
    for (const item of rulesNode.items as Node[]) {
      let text: string | null = null;
      let name: string | null = null;
      let warn = false;
      if (isMap(item)) {
        const fields = src.entries(item, RULE_KEYS, 'a rule');
        text = src.string(fields.get('rule')?.value as Node | undefined, 'rule');
        name = src.string(fields.get('name')?.value as Node | undefined, 'name');
        const warnNode = fields.get('warn')?.value as Node | undefined;
        const w = src.value(warnNode);
        if (w !== undefined && typeof w !== 'boolean') src.problem(warnNode, `warn: expected true or false, got ${JSON.stringify(w)}`);
        warn = w === true;
      } else if (isScalar(item) && typeof item.value === 'string') text = item.value;
      if (!text) {
        src.problem(item, 'a rule is a string "ANALYSIS.FIELD OP VALUE" or a mapping { rule: ..., name: ..., warn: true }');
        continue;
      }
      const rule = checkRule(text, name, item, scope);
      if (rule) rules.push({ ...rule, warn });
    }
  }
  const names = new Set<string>();
  for (const r of rules) {
    if (names.has(r.name)) src.problems.push({ line: r.line, message: `two rules are named "${r.name}"; give one a name:` });
    names.add(r.name);
  }

  if (src.problems.length > 0) src.fail();
  return { file, model, data, preprocessing, baseline, analyses: [...scope.analyses.values()], rules };
}

interface Scope {
  src: Source;
  baseDir: string;
  data: string | null;
  baseline: string | null;
  ctx: GateConfigContext;
  known: Map<string, Analyzer>;
  analyses: Map<string, GateAnalysis>;
  /** Analyses with a problem already reported: their rules are not checked again. */
  broken: Set<string>;
}

const knownList = (s: Scope) => [...s.known.keys()].join(', ');

function parseAnalysis(key: string, pair: Pair, s: Scope): GateAnalysis | null {
  const { src } = s;
  const body = pair.value as Node | null;
  const where = `analyses.${key}`;
  if (body && !isMap(body) && !(isScalar(body) && body.value === null)) {
    src.problem(body, `${where}: expected a mapping (analyzer, params, sweep, vnnlib, data) or {}`);
    return null;
  }
  const fields = body && isMap(body) ? src.entries(body, ANALYSIS_KEYS, where) : new Map<string, Pair>();
  const analyzerNode = fields.get('analyzer')?.value as Node | undefined;
  const analyzerName = analyzerNode ? src.string(analyzerNode, `${where}.analyzer`) : key;
  const analyzer = analyzerName ? s.known.get(analyzerName) : undefined;
  if (!analyzer) {
    src.problem(analyzerNode ?? pair.key, `unknown analyzer "${analyzerName}"${analyzerNode ? '' : ` (an analysis named ${key} without analyzer: runs the analyzer ${key})`}; known: ${knownList(s)}`);
    return null;
  }

  const paramsNode = fields.get('params')?.value as Node | undefined;
  const params = paramsNode ? src.value(paramsNode) : {};
  if (params === undefined) return null;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    src.problem(paramsNode, `${where}.params: expected a mapping of param: value`);
    return null;
  }

  // Sweeps and property files multiply the runs: one per combination.
  let runs: Array<{ label: string | null; params: Record<string, unknown>; shown: Record<string, unknown> }> = [
    { label: null, params: params as Record<string, unknown>, shown: params as Record<string, unknown> },
  ];
  const sweepNode = fields.get('sweep')?.value as Node | undefined;
  if (sweepNode) {
    const sweep = src.value(sweepNode);
    if (!sweep || typeof sweep !== 'object' || Array.isArray(sweep) || Object.values(sweep).some((v) => !Array.isArray(v) || v.length === 0)) {
      src.problem(sweepNode, `${where}.sweep: expected param: [values], e.g. eps: [0.01, 0.03]`);
      return null;
    }
    for (const [param, values] of Object.entries(sweep as Record<string, unknown[]>)) {
      runs = runs.flatMap((r) =>
        values.map((v) => ({ label: joinLabel(r.label, `${param}=${String(v)}`), params: { ...r.params, [param]: v }, shown: { ...r.shown, [param]: v } })),
      );
    }
  }
  const vnnlibNode = fields.get('vnnlib')?.value as Node | undefined;
  if (vnnlibNode) {
    const files = src.value(vnnlibNode);
    const list = typeof files === 'string' ? [files] : files;
    if (!Array.isArray(list) || list.length === 0 || list.some((f) => typeof f !== 'string')) {
      src.problem(vnnlibNode, `${where}.vnnlib: expected a property file or a list of them`);
      return null;
    }
    if (!analyzer.params.some((p) => p.name === 'vnnlib')) {
      src.problem(vnnlibNode, `${where}.vnnlib: analyzer ${analyzer.name} takes no VNNLIB property`);
      return null;
    }
    const properties: Array<{ file: string; text: string }> = [];
    for (const f of list as string[]) {
      try {
        properties.push({ file: f, text: readFileSync(path.resolve(s.baseDir, f), 'utf8') });
      } catch (err) {
        src.problem(vnnlibNode, `${where}.vnnlib: ${f}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
      }
    }
    runs = runs.flatMap((r) =>
      properties.map((p) => ({
        label: joinLabel(r.label, p.file),
        params: { ...r.params, vnnlib: p.text },
        shown: { ...r.shown, vnnlib: `${p.file} (sha256 ${createHash('sha256').update(p.text).digest('hex').slice(0, 12)})` },
      })),
    );
  }
  const labels = runs.map((r) => r.label);
  const repeated = labels.find((l, i) => labels.indexOf(l) !== i);
  if (repeated !== undefined) {
    src.problem(sweepNode ?? vnnlibNode ?? pair.key, `${where}: two runs are both labelled "${repeated}"; list each sweep value and property file once`);
    return null;
  }

  const dataNode = fields.get('data')?.value as Node | undefined;
  const ownData = src.string(dataNode, `${where}.data`);
  const out: GateRun[] = [];
  for (const run of runs) {
    const at = `${where}${run.label ? ` [${run.label}]` : ''}`;
    let validated: ParamValues;
    try {
      validated = validateParams(analyzer.params, run.params);
      const data = ownData ? path.resolve(s.baseDir, ownData) : needsData(analyzer, validated) ? s.data : null;
      analyzer.checkRequest?.(validated, data !== null);
      if (needsData(analyzer, validated) && !data) throw new AppError('BAD_DATASET', `analyzer ${analyzer.name} needs a dataset: set data: (here or at the top) or pass --data`);
      out.push({ ...run, data });
    } catch (err) {
      src.problem(sweepNode ?? vnnlibNode ?? paramsNode ?? pair.key, `${at}: ${(err as Error).message}`);
      return null;
    }
  }
  return { key, analyzer, runs: out, line: src.lineOf(pair.key), implicit: false };
}

const needsData = (analyzer: Analyzer, params: ParamValues) => analyzer.needsDatasetFor?.(params) ?? analyzer.needsDataset;

function checkRule(text: string, name: string | null, node: Node, s: Scope): Omit<GateRule, 'warn'> | null {
  const line = s.src.lineOf(node);
  const problem = (message: string) => {
    s.src.problems.push({ line, message });
    return null;
  };
  let parsed;
  try {
    parsed = parseRule(text);
  } catch (err) {
    if (err instanceof RuleSyntaxError) return problem(err.message);
    throw err;
  }
  if (s.broken.has(parsed.analysis)) return null;
  let analysis = s.analyses.get(parsed.analysis);
  if (!analysis) {
    // A rule may name an analyzer directly; it then runs with default params (plus what rules need).
    const analyzer = s.known.get(parsed.analysis);
    if (!analyzer) {
      const declared = [...s.analyses.keys()].filter((k) => !s.analyses.get(k)!.implicit);
      return problem(`unknown analysis "${parsed.analysis}": not under analyses: (${declared.join(', ') || 'none'}) and not an analyzer (${knownList(s)})`);
    }
    analysis = { key: parsed.analysis, analyzer, runs: [{ label: null, params: {}, shown: {}, data: null }], line, implicit: true };
    const defaults = validateParams(analyzer.params, {});
    try {
      analyzer.checkRequest?.(defaults, s.data !== null);
    } catch (err) {
      return problem(`analyzer ${analyzer.name} cannot run with default params (${(err as Error).message}): declare it under analyses: with params`);
    }
    analysis.runs[0]!.data = needsData(analyzer, defaults) ? s.data : null;
    if (needsData(analyzer, defaults) && !s.data) return problem(`analyzer ${analyzer.name} needs a dataset: set data: in the config or pass --data`);
    s.analyses.set(analysis.key, analysis);
  }
  let field: ResolvedField;
  try {
    field = resolveField(s.ctx.schema, analysis.analyzer.name, resultTypeName(analysis.analyzer.name), parsed.path);
  } catch (err) {
    if (err instanceof FieldError) return problem(`unknown field: ${err.message}`);
    throw err;
  }
  const what = `${parsed.analysis}.${parsed.field}`;
  const ordered = parsed.op !== '==' && parsed.op !== '!=';
  const { expected } = parsed;
  if (ordered && field.kind !== 'number' && field.kind !== 'any') return problem(`operator ${parsed.op} needs a number, but ${what} is a ${field.kind}; use == or !=`);
  if (expected.kind === 'literal' && field.kind !== 'any' && typeof expected.value !== field.kind) {
    return problem(`${what} is a ${field.kind}, compared with the ${typeof expected.value} ${JSON.stringify(expected.value)}`);
  }
  if (expected.kind === 'literal' && field.values && !field.values.includes(expected.value as string)) {
    return problem(`${what} is one of ${field.values.join(', ')}, never ${JSON.stringify(expected.value)}`);
  }
  if (expected.kind === 'baseline') {
    if (expected.arithmetic && field.kind !== 'number' && field.kind !== 'any') {
      return problem(`baseline ${expected.arithmetic} ${expected.operand} needs a number, but ${what} is a ${field.kind}`);
    }
    if (!s.baseline) return problem('this rule compares with the baseline, but there is no baseline model: set baseline: in the config or pass --baseline');
  }
  if (field.requires) {
    const missing = requireParam(analysis, field.requires);
    if (missing) return problem(`${formatPath([parsed.analysis, ...field.path])} is computed only when ${missing}`);
  }
  return { name: name ?? text.trim(), text: text.trim(), analysis: analysis.key, field, op: parsed.op, expected, line };
}

/**
 * Makes sure every run asks for the field: an implicit analysis gets the param added; a
 * declared one must say it. Returns what is missing, or null.
 */
function requireParam(analysis: GateAnalysis, req: FieldRequirement): string | null {
  const spec = analysis.analyzer.params.find((p) => p.name === req.param);
  if (!spec) return null;
  const list = spec.type.endsWith('List');
  for (const run of analysis.runs) {
    const current = run.params[req.param] ?? spec.default;
    const asked = list ? Array.isArray(current) && current.includes(req.value) : current === req.value;
    if (asked) continue;
    if (!analysis.implicit) {
      return `params.${req.param} ${list ? 'includes' : 'is'} ${JSON.stringify(req.value)} (under analyses.${analysis.key})`;
    }
    const value = list ? [...((current as unknown[] | undefined) ?? []), req.value] : req.value;
    run.params = { ...run.params, [req.param]: value };
    run.shown = { ...run.shown, [req.param]: value };
  }
  return null;
}

const joinLabel = (a: string | null, b: string) => (a ? `${a}, ${b}` : b);
