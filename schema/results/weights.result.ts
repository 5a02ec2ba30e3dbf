/** GraphQL type of the weights analyzer's result (analyzers/weights/result.ts). */
import { Field, Float, Int, ObjectType } from 'type-graphql';
import { defineResultType } from './registry.js';

@ObjectType({ description: 'The metrics of a layer with its weight entries shuffled: a random matrix with the same entries.' })
export class WeightsShuffledControl {
  @Field(() => Float)
  lambdaMax!: number;

  @Field(() => Float, { nullable: true })
  alpha!: number | null;

  @Field(() => Int)
  numSpikes!: number;

  @Field(() => Float)
  mpSoftrank!: number;
}

@ObjectType({ description: 'One weight matrix (or conv kernel): the ESD of X = WᵀW/N and its heavy-tail metrics.' })
export class WeightsLayer {
  @Field(() => String, { description: 'The weight tensor.' })
  name!: string;

  @Field(() => String)
  node!: string;

  @Field(() => String)
  opType!: string;

  @Field(() => [Int])
  tensorShape!: number[];

  @Field(() => Int, { description: 'N = max(rows, cols) of each matrix; λ = σ²/N.' })
  n!: number;

  @Field(() => Int, { description: 'M = min(rows, cols).' })
  m!: number;

  @Field(() => Int, { description: 'Matrices whose eigenvalues form the ESD (kernel positions for conv slices).' })
  matrices!: number;

  @Field(() => Int)
  parameterCount!: number;

  @Field(() => String, { description: 'full (every singular value) or randomized (the top topK, Halko et al. 2011).' })
  svdMethod!: string;

  @Field(() => Int)
  eigenvalueCount!: number;

  @Field(() => Float)
  lambdaMax!: number;

  @Field(() => Float)
  lambdaMin!: number;

  @Field(() => Float, { nullable: true, description: 'Power-law exponent of the ESD tail (MLE, xmin by KS; Clauset et al. 2009); null when too few eigenvalues.' })
  alpha!: number | null;

  @Field(() => Float, { nullable: true, description: '(alpha - 1)/sqrt(tailCount).' })
  alphaStdErr!: number | null;

  @Field(() => Float, { nullable: true })
  xmin!: number | null;

  @Field(() => Float, { nullable: true, description: 'KS distance between the tail and the fitted law.' })
  ksDistance!: number | null;

  @Field(() => Int)
  tailCount!: number;

  @Field(() => Float, { nullable: true, description: 'alpha · log10 λ_max (alpha-hat).' })
  alphaWeighted!: number | null;

  @Field(() => Float, { description: 'log10 λ_max.' })
  logSpectralNorm!: number;

  @Field(() => Float, { description: 'log10 Σλ = log10 ‖W‖_F²/N.' })
  logNorm!: number;

  @Field(() => Float, { nullable: true, description: 'log10 Σλ^alpha.' })
  logAlphaNorm!: number | null;

  @Field(() => Float, { description: 'Σλ/λ_max = ‖W‖_F²/‖W‖₂².' })
  stableRank!: number;

  @Field(() => Float, { description: 'MP bulk edge λ_+ over λ_max.' })
  mpSoftrank!: number;

  @Field(() => Int, { description: 'Eigenvalues above the MP bulk edge plus its Tracy–Widom 99% allowance.' })
  numSpikes!: number;

  @Field(() => Float)
  mpBulkMin!: number;

  @Field(() => Float)
  mpBulkMax!: number;

  @Field(() => Float)
  mpSpikeThreshold!: number;

  @Field(() => WeightsShuffledControl, { nullable: true })
  shuffled!: WeightsShuffledControl | null;

  @Field(() => Boolean, { nullable: true, description: 'The shuffled matrix still has spikes (large single entries).' })
  correlationTrap!: boolean | null;

  @Field(() => Float, { nullable: true, description: 'Jensen–Shannon distance between the ESD and the shuffled control’s.' })
  randDistance!: number | null;
}

@ObjectType({ description: 'Means of the layer metrics (alpha-based ones over the layers with a fit).' })
export class WeightsMeans {
  @Field(() => Float, { nullable: true })
  alpha!: number | null;

  @Field(() => Float, { nullable: true })
  alphaWeighted!: number | null;

  @Field(() => Float, { nullable: true })
  logAlphaNorm!: number | null;

  @Field(() => Float, { nullable: true })
  logSpectralNorm!: number | null;

  @Field(() => Float, { nullable: true })
  logNorm!: number | null;

  @Field(() => Float, { nullable: true })
  stableRank!: number | null;

  @Field(() => Float, { nullable: true })
  mpSoftrank!: number | null;

  @Field(() => Float, { nullable: true })
  randDistance!: number | null;
}

@ObjectType({ description: 'Model-level summary: plain means over layers (as WeightWatcher), extremes, totals, and size-weighted means.' })
export class WeightsSummary extends WeightsMeans {
  @Field(() => Int)
  layers!: number;

  @Field(() => Int)
  fittedLayers!: number;

  @Field(() => Float, { nullable: true })
  alphaMin!: number | null;

  @Field(() => Float, { nullable: true })
  alphaMax!: number | null;

  @Field(() => Int, { description: 'Spikes summed over layers.' })
  numSpikes!: number;

  @Field(() => Int, { description: 'Layers whose shuffled control has spikes.' })
  correlationTraps!: number;

  @Field(() => WeightsMeans, { description: 'Means weighted by layer parameter count.' })
  sizeWeighted!: WeightsMeans;
}

@ObjectType({ description: 'Data-free weight-spectrum analysis (Heavy-Tailed Self-Regularization, Martin & Mahoney 2021).' })
export class WeightsResult {
  @Field(() => String, { description: 'slices (one [out, in] matrix per kernel position, WeightWatcher) or flatten ([out, in·k·k]).' })
  convMode!: string;

  @Field(() => Int)
  parameterCount!: number;

  @Field(() => WeightsSummary)
  summary!: WeightsSummary;

  @Field(() => [WeightsLayer])
  layers!: WeightsLayer[];

  @Field(() => [String])
  notes!: string[];
}

export default defineResultType('weights', WeightsResult);
