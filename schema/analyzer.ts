import { Field, Float, Int, ObjectType } from 'type-graphql';
import type { Analyzer, ParamSpec } from '../analyzers/types.js';
import { JSONScalar } from './scalars.js';
import { resultTypeName } from './results/registry.js';

@ObjectType()
export class AnalyzerParameter {
  @Field(() => String)
  name!: string;

  @Field(() => String, { description: 'int, float, bool, string, enum, intList, floatList or stringList.' })
  type!: string;

  @Field(() => String)
  description!: string;

  @Field(() => JSONScalar, { nullable: true, description: 'Used when the param is left out; null when optional without a default.' })
  default!: unknown;

  @Field(() => Float, { nullable: true })
  min!: number | null;

  @Field(() => Float, { nullable: true })
  max!: number | null;

  @Field(() => [String], { nullable: true, description: 'Allowed values of an enum param.' })
  choices!: string[] | null;

  static from(p: ParamSpec): AnalyzerParameter {
    return Object.assign(new AnalyzerParameter(), {
      name: p.name,
      type: p.type,
      description: p.description,
      default: p.default ?? null,
      min: p.min ?? null,
      max: p.max ?? null,
      choices: p.choices ?? null,
    });
  }
}

@ObjectType('AnalyzerInfo')
export class AnalyzerInfo {
  @Field(() => String)
  name!: string;

  @Field(() => Int, { description: 'Part of the cache key: results of another version are not reused.' })
  version!: number;

  @Field(() => String)
  description!: string;

  @Field(() => Boolean)
  needsDataset!: boolean;

  @Field(() => [AnalyzerParameter])
  parameters!: AnalyzerParameter[];

  @Field(() => String, { nullable: true, description: 'The member of the AnalysisResult union this analyzer returns; null: read resultJson.' })
  resultType!: string | null;

  static from(a: Analyzer): AnalyzerInfo {
    return Object.assign(new AnalyzerInfo(), {
      name: a.name,
      version: a.version,
      description: a.description,
      needsDataset: a.needsDataset,
      parameters: a.params.map(AnalyzerParameter.from),
      resultType: resultTypeName(a.name),
    });
  }
}
