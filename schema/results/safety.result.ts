/** GraphQL type of the safety analyzer's result (analyzers/safety/index.ts is the source). */
import type { SafetyCheck as Check, SafetyCounterexample as Counterexample, SafetyResult as Result } from '../../analyzers/safety/index.js';
import { float, int, list, nullable, obj, objectType, str } from '../fields.js';
import { defineResultType } from './registry.js';

export const SafetyCounterexample = objectType<Counterexample>('SafetyCounterexample', 'An input that violates the property, confirmed by a fresh ONNX Runtime forward pass.', {
  input: list(float(), 'The input as fed to ONNX Runtime (float32 values), flattened.'),
  output: list(float(), 'The model output on it from that forward pass, flattened.'),
  disjunct: nullable(int('Index of the unsafe-set disjunct it satisfies (VNNLIB/robustness).')),
  score: nullable(float('max_k (a_k.y - b_k) on it (<= 0), or the class margin for manipulations.')),
  description: nullable(str('The manipulation applied (manipulation families).')),
});

export const SafetyCheck = objectType<Check>('SafetyCheck', 'The verdict on one property: the VNNLIB file, or one sample for robustness/manipulations.', {
  name: str(),
  index: nullable(int('Dataset sample index (robustness, manipulation).')),
  label: nullable(int()),
  predicted: nullable(int()),
  status: str('holds, violated or unknown.'),
  method: str('What decided: falsification, bounds, branch-and-bound, milp, enumeration, clean sample, none.'),
  counterexample: nullable(obj(SafetyCounterexample)),
  lowerBound: nullable(float('Proven lower bound of the violation score (> 0: safe); null where no proof ran or it is unbounded.')),
  searchBest: nullable(float('Lowest violation score the search reached (<= 0 only with a counterexample).')),
  margin: nullable(float('Proof margin a bound had to clear.')),
  disjuncts: nullable(int()),
  disjunctsProved: nullable(int()),
  domains: int('Branch-and-bound domains processed.'),
  domainsPerSecond: nullable(float('Domains per second of the batched input-splitting search (null where it did not run).')),
  milpCalls: int(),
  maxBinaries: int('Most binary variables in one MILP.'),
  evaluations: int('Forward passes spent on search.'),
  gradientSteps: int(),
  familySize: nullable(int('Size of the enumerated manipulation family.')),
  pixels: nullable(list(int(), 'Salient inputs perturbed (pixels family).')),
  durationMs: int(),
  notes: list(str()),
});

export const SafetyResult = objectType<Result>('SafetyResult', 'Safety verification: holds (proved), violated (checked counterexample) or unknown (budget spent).', {
  status: str('holds, violated or unknown (violated if any check is, holds if all are).'),
  property: str('vnnlib, robustness or manipulation.'),
  checks: list(obj(SafetyCheck)),
  holds: int(),
  violated: int(),
  unknown: int(),
  timeoutSeconds: float(),
  marginAbs: float('Bounds must clear marginAbs + marginRel * ||a||_1 * output scale.'),
  marginRel: float(),
  boundsIssue: nullable(str('Why bound propagation could not run, when it could not.')),
  notes: list(str()),
});

export default defineResultType('safety', SafetyResult);
