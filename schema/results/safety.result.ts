/** GraphQL type of the safety analyzer's result (analyzers/safety, SafetyResult). */
import { Field, Float, Int, ObjectType } from 'type-graphql';
import { defineResultType } from './registry.js';

@ObjectType({ description: 'An input that violates the property, confirmed by a fresh ONNX Runtime forward pass.' })
export class SafetyCounterexample {
  @Field(() => [Float], { description: 'The input as fed to ONNX Runtime (float32 values), flattened.' })
  input!: number[];

  @Field(() => [Float], { description: 'The model output on it from that forward pass, flattened.' })
  output!: number[];

  @Field(() => Int, { nullable: true, description: 'Index of the unsafe-set disjunct it satisfies (VNNLIB/robustness).' })
  disjunct!: number | null;

  @Field(() => Float, { nullable: true, description: 'max_k (a_k.y - b_k) on it (<= 0), or the class margin for manipulations.' })
  score!: number | null;

  @Field(() => String, { nullable: true, description: 'The manipulation applied (manipulation families).' })
  description!: string | null;
}

@ObjectType({ description: 'The verdict on one property: the VNNLIB file, or one sample for robustness/manipulations.' })
export class SafetyCheck {
  @Field(() => String)
  name!: string;

  @Field(() => Int, { nullable: true, description: 'Dataset sample index (robustness, manipulation).' })
  index!: number | null;

  @Field(() => Int, { nullable: true })
  label!: number | null;

  @Field(() => Int, { nullable: true })
  predicted!: number | null;

  @Field(() => String, { description: 'holds, violated or unknown.' })
  status!: string;

  @Field(() => String, { description: 'What decided: falsification, bounds, branch-and-bound, milp, enumeration, clean sample, none.' })
  method!: string;

  @Field(() => SafetyCounterexample, { nullable: true })
  counterexample!: SafetyCounterexample | null;

  @Field(() => Float, { nullable: true, description: 'Proven lower bound of the violation score (> 0: safe); null where no proof ran or it is unbounded.' })
  lowerBound!: number | null;

  @Field(() => Float, { nullable: true, description: 'Lowest violation score the search reached (<= 0 only with a counterexample).' })
  searchBest!: number | null;

  @Field(() => Float, { nullable: true, description: 'Proof margin a bound had to clear.' })
  margin!: number | null;

  @Field(() => Int, { nullable: true })
  disjuncts!: number | null;

  @Field(() => Int, { nullable: true })
  disjunctsProved!: number | null;

  @Field(() => Int, { description: 'Branch-and-bound domains processed.' })
  domains!: number;

  @Field(() => Float, { nullable: true, description: 'Domains per second of the batched input-splitting search (null where it did not run).' })
  domainsPerSecond!: number | null;

  @Field(() => Int)
  milpCalls!: number;

  @Field(() => Int, { description: 'Most binary variables in one MILP.' })
  maxBinaries!: number;

  @Field(() => Int, { description: 'Forward passes spent on search.' })
  evaluations!: number;

  @Field(() => Int)
  gradientSteps!: number;

  @Field(() => Int, { nullable: true, description: 'Size of the enumerated manipulation family.' })
  familySize!: number | null;

  @Field(() => [Int], { nullable: true, description: 'Salient inputs perturbed (pixels family).' })
  pixels!: number[] | null;

  @Field(() => Int)
  durationMs!: number;

  @Field(() => [String])
  notes!: string[];
}

@ObjectType({ description: 'Safety verification: holds (proved), violated (checked counterexample) or unknown (budget spent).' })
export class SafetyResult {
  @Field(() => String, { description: 'holds, violated or unknown (violated if any check is, holds if all are).' })
  status!: string;

  @Field(() => String, { description: 'vnnlib, robustness or manipulation.' })
  property!: string;

  @Field(() => [SafetyCheck])
  checks!: SafetyCheck[];

  @Field(() => Int)
  holds!: number;

  @Field(() => Int)
  violated!: number;

  @Field(() => Int)
  unknown!: number;

  @Field(() => Float)
  timeoutSeconds!: number;

  @Field(() => Float, { description: 'Bounds must clear marginAbs + marginRel * ||a||_1 * output scale.' })
  marginAbs!: number;

  @Field(() => Float)
  marginRel!: number;

  @Field(() => String, { nullable: true, description: 'Why bound propagation could not run, when it could not.' })
  boundsIssue!: string | null;

  @Field(() => [String])
  notes!: string[];
}

export default defineResultType('safety', SafetyResult);
