/**
 * gate.yml: which analyses to run and the rules their results must meet. Everything is checked
 * here, before anything runs: YAML syntax, keys, analyzer names, params (against the
 * analyzer's specs), rule syntax, fields (against the result's GraphQL type), operators against
 * the field's type, and that a dataset and a baseline exist where needed. Every problem is
 * reported with its line; see gate/README.md for the format.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { GraphQLSchema } from 'graphql';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node, type Pair } from 'yaml';
import { AppError } from '../common/errors.js';
import { validateParams } from '../analyzers/params.js';
import type { Analyzer } from '../analyzers/types.js';
import { resultTypeName } from '../schema/results/registry.js';
import { FieldError, resolveField, type ResolvedField } from './fields.js';
import { RuleSyntaxError, parseRule, type Expected, type Operator } from './rule.js';

/** One run of an analysis: its params (a sweep value or a VNNLIB property filled in). */
export interface GateRun {
  /** Which sweep value or property file, e.g. "eps=0.02" or "prop_1.vnnlib"; null for a single run. */
  label: string | null;
  params: Record<string, unknown>;
}

export interface GateAnalysis {
  /** The name rules use: the key under `analyses:` (or the analyzer name for implicit ones). */
  key: string;
  analyzer: Analyzer;
  /** Absolute path of the dataset, or null. */
  data: string | null;
  runs: GateRun[];
  line: number;
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
}

export interface GateConfig {
  /** The config file as the user named it (for messages). */
  file: string;
  model: string | null;
  data: string | null;
  baseline: string | null;
  analyses: GateAnalysis[];
  rules: GateRule[];
}

/** Paths from the command line; they replace the config's own. */
export interface GateOverrides {
  model?: string;
  data?: string;
  baseline?: string;
}

export interface GateConfigContext {
  schema: GraphQLSchema;
  analyzers: Analyzer[];
}

interface Problem {
  line: number;
  message: string;
}

const TOP_KEYS = ['model', 'data', 'baseline', 'analyses', 'rules'];
const ANALYSIS_KEYS = ['analyzer', 'data', 'params', 'sweep', 'vnnlib'];
const RULE_KEYS = ['rule', 'name'];

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

export function parseGateConfig(text: string, file: string, overrides: GateOverrides, ctx: GateConfigContext): GateConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const problems: Problem[] = [];
  const fail = (): never => {
    throw new AppError('BAD_CONFIG', problems.map((p) => `${file}:${p.line}: ${p.message}`).join('; '), { problems });
  };
  if (doc.errors.length > 0) {
    for (const e of doc.errors) problems.push({ line: lines.linePos(e.pos[0]).line, message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '') });
    fail();
  }
  const lineOf = (node: unknown): number => {
    const range = (node as Node | null)?.range;
    return range ? lines.linePos(range[0]).line : 1;
  };
  const problem = (node: unknown, message: string) => problems.push({ line: lineOf(node), message });

  const root = doc.contents;
  if (!isMap(root)) {
    problem(root, 'expected a mapping with analyses: and rules:');
    fail();
  }
  const top = entries(root as Node, problem, TOP_KEYS, 'the config');
  const baseDir = path.dirname(path.resolve(file));
  const filePath = (key: string, override: string | undefined): string | null => {
    if (override) return path.resolve(override);
    const node = top.get(key)?.value as Node | null | undefined;
    if (!node) return null;
    const value = stringValue(node);
    if (value === null) {
      problem(node, `${key}: expected a file path`);
      return null;
    }
    return path.resolve(baseDir, value);
  };
  const model = filePath('model', overrides.model);
  const data = filePath('data', overrides.data);
  const baseline = filePath('baseline', overrides.baseline);
  if (!model) problem(root, 'no model: set model: in the config or pass --model');

  const known = new Map(ctx.analyzers.map((a) => [a.name, a]));
  const knownList = [...known.keys()].join(', ');
  const analyses = new Map<string, GateAnalysis>();
  // Analyses with a problem already reported: their rules are not checked again.
  const broken = new Set<string>();

  const analysesNode = top.get('analyses')?.value;
  if (analysesNode && !isMap(analysesNode)) problem(analysesNode, 'analyses: expected a mapping of NAME: { analyzer, params, ... }');
  else if (analysesNode) {
    for (const pair of (analysesNode as { items: Pair[] }).items) {
      const key = stringValue(pair.key as Node);
      if (!key || !/^[A-Za-z_][\w-]*$/.test(key)) {
        problem(pair.key, `analysis names are words (letters, digits, _ and -), got ${JSON.stringify(key)}`);
        continue;
      }
      const parsed = parseAnalysis(key, pair, { problem, lineOf, baseDir, data, known, knownList });
      if (parsed) analyses.set(key, parsed);
      else broken.add(key);
    }
  }

  const rules: GateRule[] = [];
  const rulesNode = top.get('rules')?.value;
  if (!rulesNode || !isSeq(rulesNode) || rulesNode.items.length === 0) {
    problem(rulesNode ?? root, 'rules: expected a list of at least one rule, e.g. - evaluate.accuracy >= 0.97');
  } else {
    for (const item of rulesNode.items) {
      let text: string | null = null;
      let name: string | null = null;
      if (isMap(item)) {
        const fields = entries(item, problem, RULE_KEYS, 'a rule');
        text = fields.get('rule') ? stringValue(fields.get('rule')!.value as Node) : null;
        name = fields.get('name') ? stringValue(fields.get('name')!.value as Node) : null;
      } else text = stringValue(item as Node);
      if (!text) {
        problem(item, 'a rule is a string "ANALYSIS.FIELD OP VALUE" or a mapping { rule: ..., name: ... }');
        continue;
      }
      const rule = checkRule(text, name, lineOf(item), { problem: (m) => problems.push({ line: lineOf(item), message: m }), analyses, broken, known, ctx, data, baseline, knownList });
      if (rule) rules.push(rule);
    }
  }

  if (problems.length > 0) fail();
  return { file, model, data, baseline, analyses: [...analyses.values()], rules };
}

interface AnalysisScope {
  problem: (node: unknown, message: string) => void;
  lineOf: (node: unknown) => number;
  baseDir: string;
  data: string | null;
  known: Map<string, Analyzer>;
  knownList: string;
}

function parseAnalysis(key: string, pair: Pair, s: AnalysisScope): GateAnalysis | null {
  const body = pair.value as Node | null;
  if (body && !isMap(body) && !(isScalar(body) && body.value === null)) {
    s.problem(body, `analyses.${key}: expected a mapping (analyzer, params, sweep, vnnlib, data) or {}`);
    return null;
  }
  const fields = body && isMap(body) ? entries(body, s.problem, ANALYSIS_KEYS, `analyses.${key}`) : new Map<string, Pair>();
  const analyzerNode = fields.get('analyzer')?.value as Node | undefined;
  const analyzerName = analyzerNode ? stringValue(analyzerNode) : key;
  const analyzer = analyzerName ? s.known.get(analyzerName) : undefined;
  if (!analyzer) {
    s.problem(analyzerNode ?? pair.key, `unknown analyzer "${analyzerName}"${analyzerNode ? '' : ` (an analysis named ${key} without analyzer: runs the analyzer ${key})`}; known: ${s.knownList}`);
    return null;
  }

  const paramsNode = fields.get('params')?.value as Node | undefined;
  const params = paramsNode ? paramsNode.toJSON() : {};
  if (paramsNode && (typeof params !== 'object' || params === null || Array.isArray(params))) {
    s.problem(paramsNode, `analyses.${key}.params: expected a mapping of param: value`);
    return null;
  }

  // Sweeps and property files multiply the runs: one per combination.
  let runs: GateRun[] = [{ label: null, params: params as Record<string, unknown> }];
  const sweepNode = fields.get('sweep')?.value as Node | undefined;
  if (sweepNode) {
    const sweep = sweepNode.toJSON() as unknown;
    if (!sweep || typeof sweep !== 'object' || Array.isArray(sweep) || Object.values(sweep).some((v) => !Array.isArray(v) || v.length === 0)) {
      s.problem(sweepNode, `analyses.${key}.sweep: expected param: [values], e.g. eps: [0.01, 0.03]`);
      return null;
    }
    for (const [param, values] of Object.entries(sweep as Record<string, unknown[]>)) {
      runs = runs.flatMap((r) => values.map((v) => ({ label: joinLabel(r.label, `${param}=${String(v)}`), params: { ...r.params, [param]: v } })));
    }
  }
  const vnnlibNode = fields.get('vnnlib')?.value as Node | undefined;
  if (vnnlibNode) {
    const files = vnnlibNode.toJSON() as unknown;
    const list = typeof files === 'string' ? [files] : files;
    if (!Array.isArray(list) || list.length === 0 || list.some((f) => typeof f !== 'string')) {
      s.problem(vnnlibNode, `analyses.${key}.vnnlib: expected a property file or a list of them`);
      return null;
    }
    if (!analyzer.params.some((p) => p.name === 'vnnlib')) {
      s.problem(vnnlibNode, `analyses.${key}.vnnlib: analyzer ${analyzer.name} takes no VNNLIB property`);
      return null;
    }
    const properties: Array<{ label: string; text: string }> = [];
    for (const f of list as string[]) {
      try {
        properties.push({ label: path.basename(f), text: readFileSync(path.resolve(s.baseDir, f), 'utf8') });
      } catch (err) {
        s.problem(vnnlibNode, `analyses.${key}.vnnlib: ${f}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
      }
    }
    runs = runs.flatMap((r) => properties.map((p) => ({ label: joinLabel(r.label, p.label), params: { ...r.params, vnnlib: p.text } })));
  }

  for (const run of runs) {
    try {
      validateParams(analyzer.params, run.params);
    } catch (err) {
      s.problem(sweepNode ?? paramsNode ?? pair.key, `analyses.${key}${run.label ? ` [${run.label}]` : ''}: ${(err as Error).message}`);
      return null;
    }
  }

  const dataNode = fields.get('data')?.value as Node | undefined;
  const ownData = dataNode ? stringValue(dataNode) : null;
  const data = ownData ? path.resolve(s.baseDir, ownData) : s.data;
  if (analyzer.needsDataset && !data) {
    s.problem(pair.key, `analyses.${key}: analyzer ${analyzer.name} needs a dataset: set data: (here or at the top) or pass --data`);
    return null;
  }
  return { key, analyzer, data, runs, line: s.lineOf(pair.key) };
}

interface RuleScope {
  problem: (message: string) => void;
  analyses: Map<string, GateAnalysis>;
  broken: Set<string>;
  known: Map<string, Analyzer>;
  knownList: string;
  ctx: GateConfigContext;
  data: string | null;
  baseline: string | null;
}

function checkRule(text: string, name: string | null, line: number, s: RuleScope): GateRule | null {
  let parsed;
  try {
    parsed = parseRule(text);
  } catch (err) {
    if (err instanceof RuleSyntaxError) {
      s.problem(err.message);
      return null;
    }
    throw err;
  }
  if (s.broken.has(parsed.analysis)) return null;
  let analysis = s.analyses.get(parsed.analysis);
  if (!analysis) {
    // A rule may name an analyzer directly; it then runs with default params.
    const analyzer = s.known.get(parsed.analysis);
    if (!analyzer) {
      const declared = [...s.analyses.keys()];
      s.problem(`unknown analysis "${parsed.analysis}": not under analyses: (${declared.join(', ') || 'none'}) and not an analyzer (${s.knownList})`);
      return null;
    }
    if (analyzer.needsDataset && !s.data) {
      s.problem(`analyzer ${analyzer.name} needs a dataset: set data: in the config or pass --data`);
      return null;
    }
    analysis = { key: parsed.analysis, analyzer, data: analyzer.needsDataset ? s.data : null, runs: [{ label: null, params: {} }], line };
    s.analyses.set(analysis.key, analysis);
  }
  let field: ResolvedField;
  try {
    field = resolveField(s.ctx.schema, analysis.analyzer.name, resultTypeName(analysis.analyzer.name), parsed.path);
  } catch (err) {
    if (err instanceof FieldError) {
      s.problem(`unknown field: ${err.message}`);
      return null;
    }
    throw err;
  }
  const ordered = parsed.op !== '==' && parsed.op !== '!=';
  const { expected } = parsed;
  if (ordered && field.kind !== 'number' && field.kind !== 'any') {
    s.problem(`operator ${parsed.op} needs a number, but ${parsed.analysis}.${parsed.field} is a ${field.kind}; use == or !=`);
    return null;
  }
  if (expected.kind === 'literal' && field.kind !== 'any' && typeof expected.value !== field.kind) {
    s.problem(`${parsed.analysis}.${parsed.field} is a ${field.kind}, compared with the ${typeof expected.value} ${JSON.stringify(expected.value)}`);
    return null;
  }
  if (expected.kind === 'baseline') {
    if (expected.arithmetic && field.kind !== 'number' && field.kind !== 'any') {
      s.problem(`baseline ${expected.arithmetic} ${expected.operand} needs a number, but ${parsed.analysis}.${parsed.field} is a ${field.kind}`);
      return null;
    }
    if (!s.baseline) {
      s.problem('this rule compares with the baseline, but there is no baseline model: set baseline: in the config or pass --baseline');
      return null;
    }
  }
  return { name: name ?? text.trim(), text: text.trim(), analysis: analysis.key, field, op: parsed.op, expected, line };
}

/** A mapping's pairs by key; unknown keys are problems. */
function entries(node: Node, problem: (node: unknown, message: string) => void, allowed: string[], where: string): Map<string, Pair> {
  const out = new Map<string, Pair>();
  for (const pair of (node as unknown as { items: Pair[] }).items) {
    const key = stringValue(pair.key as Node);
    if (key === null || !allowed.includes(key)) {
      problem(pair.key, `unknown key "${String(key)}" in ${where}; expected ${allowed.join(', ')}`);
      continue;
    }
    out.set(key, pair);
  }
  return out;
}

function stringValue(node: Node | null | undefined): string | null {
  return node && isScalar(node) && typeof node.value === 'string' ? node.value : null;
}

const joinLabel = (a: string | null, b: string) => (a ? `${a}, ${b}` : b);
