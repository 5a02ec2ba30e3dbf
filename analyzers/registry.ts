/**
 * The built-in analyzers. Add one by importing it here and appending it to ANALYZERS; the
 * service (service/analyzerCatalog.ts), the worker and the CLI all read this list.
 */
import { badParams } from '../common/errors.js';
import type { Analyzer } from './types.js';
import { evaluateAnalyzer } from './evaluate/index.js';
import { gradientsAnalyzer } from './gradients/index.js';
import { coherenceAnalyzer } from './coherence/index.js';
import { blindspotsAnalyzer } from './blindspots/index.js';
import { hessianAnalyzer } from './hessian/index.js';
import { saliencyAnalyzer } from './saliency/index.js';
import { safetyAnalyzer } from './safety/index.js';
import { landscapeAnalyzer } from './landscape/index.js';
import { weightsAnalyzer } from './weights/index.js';

// Each analyzer is generic in its own params and result; the registry holds them type-erased.
const ANALYZERS = [
  evaluateAnalyzer,
  gradientsAnalyzer,
  coherenceAnalyzer,
  saliencyAnalyzer,
  hessianAnalyzer,
  safetyAnalyzer,
  blindspotsAnalyzer,
  landscapeAnalyzer,
  weightsAnalyzer,
] as unknown as Analyzer[];

/** Every built-in analyzer, sorted by name. */
export function listAnalyzers(): Analyzer[] {
  return [...ANALYZERS].sort((a, b) => a.name.localeCompare(b.name));
}

/** The built-in analyzer called name, or undefined. */
export function findAnalyzer(name: string): Analyzer | undefined {
  return ANALYZERS.find((a) => a.name === name);
}

/** The built-in analyzer called name; BAD_PARAMS listing the known ones when there is none. */
export function getAnalyzer(name: string): Analyzer {
  const found = findAnalyzer(name);
  if (!found) {
    throw badParams(`unknown analyzer ${name}; known: ${listAnalyzers().map((a) => a.name).join(', ')}`, { analyzer: name });
  }
  return found;
}
