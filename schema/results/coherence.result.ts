/** GraphQL type of the coherence analyzer's result (analyzers/coherence). */
import { Field, Float, Int, ObjectType } from 'type-graphql';
import { defineResultType } from './registry.js';

@ObjectType({ description: 'Coherence of per-example gradients (Chatterjee & Zielinski).' })
export class CoherenceMetrics {
  @Field(() => Int)
  examples!: number;

  @Field(() => Float, { description: '||sum g_i||^2 / (m sum ||g_i||^2).' })
  alpha!: number;

  @Field(() => Float, { description: 'm alpha: 1 for orthogonal gradients, m for identical ones.' })
  mCoherence!: number;

  @Field(() => Float, { description: 'Gradient diversity (Yin et al.): sum ||g_i||^2 / ||sum g_i||^2.' })
  gradientDiversity!: number;

  @Field(() => Float)
  sumGradSqNorm!: number;

  @Field(() => Float)
  sumOfSqNorms!: number;

  @Field(() => Float, { description: 'Mean gradient signal-to-noise ratio over parameters (Liu et al.).' })
  gsnrMean!: number;

  @Field(() => Float)
  gsnrMedian!: number;
}

@ObjectType()
export class LayerCoherence extends CoherenceMetrics {
  @Field(() => String)
  name!: string;

  @Field(() => Int)
  size!: number;
}

@ObjectType()
export class CoherenceReport {
  @Field(() => CoherenceMetrics)
  metrics!: CoherenceMetrics;

  @Field(() => [LayerCoherence])
  perLayer!: LayerCoherence[];
}

@ObjectType()
export class CheckpointCoherence {
  @Field(() => String, { description: 'sha256 of the checkpoint.' })
  model!: string;

  @Field(() => CoherenceReport)
  real!: CoherenceReport;

  @Field(() => CoherenceReport, { nullable: true })
  randomLabels!: CoherenceReport | null;
}

@ObjectType({ description: 'Gradient coherence with a shuffled-label control and an optional checkpoint series.' })
export class CoherenceResult {
  @Field(() => Int)
  examples!: number;

  @Field(() => Int)
  parameterCount!: number;

  @Field(() => String)
  lossKind!: string;

  @Field(() => String)
  precision!: string;

  @Field(() => Boolean)
  batched!: boolean;

  @Field(() => CoherenceReport)
  real!: CoherenceReport;

  @Field(() => CoherenceReport, { nullable: true })
  randomLabels!: CoherenceReport | null;

  @Field(() => [CheckpointCoherence], { nullable: true })
  series!: CheckpointCoherence[] | null;

  @Field(() => [String])
  notes!: string[];
}

export default defineResultType('coherence', CoherenceResult);
