/**
 * The analyzers this process can run: the built-in registry plus modules named in
 * config.analyzerModules (each default-exports an Analyzer). Extra modules let a deployment,
 * or a test, add an analyzer without touching the registry; the server and every worker load
 * the same list, so a job can run wherever it lands.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { findAnalyzer, listAnalyzers } from '../analyzers/registry.js';
import type { Analyzer } from '../analyzers/types.js';
import { AppError } from '../common/errors.js';

export class AnalyzerCatalog {
  private constructor(private readonly extra: Map<string, Analyzer>) {}

  static async load(modules: string[]): Promise<AnalyzerCatalog> {
    const extra = new Map<string, Analyzer>();
    for (const m of modules) {
      const mod = (await import(pathToFileURL(path.resolve(m)).href)) as { default?: Analyzer };
      const a = mod.default;
      if (!a || typeof a.name !== 'string' || typeof a.run !== 'function') {
        throw new Error(`analyzer module ${m} does not default-export an Analyzer`);
      }
      extra.set(a.name, a);
    }
    return new AnalyzerCatalog(extra);
  }

  list(): Analyzer[] {
    const builtIn = listAnalyzers().filter((a) => !this.extra.has(a.name));
    return [...builtIn, ...this.extra.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The analyzer called name; NOT_FOUND (listing the known ones) when there is none. */
  get(name: string): Analyzer {
    const found = this.extra.get(name) ?? findAnalyzer(name);
    if (!found) {
      const known = this.list().map((a) => a.name).join(', ');
      throw new AppError('NOT_FOUND', `unknown analyzer "${name}" (known: ${known})`, { analyzer: name });
    }
    return found;
  }
}
