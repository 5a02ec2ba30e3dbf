import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { AnalysisRecord, AnalysisStatus as Status } from '../service/records.js';
import { DateTimeScalar, JSONScalar } from './scalars.js';

export enum AnalysisStatus {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(AnalysisStatus, { name: 'AnalysisStatus' });

@ObjectType()
export class AnalysisError {
  @Field(() => String, { description: 'One of the codes in DESIGN.md (BAD_PARAMS, TIMEOUT, INTERNAL, ...).' })
  code!: string;

  @Field(() => String)
  message!: string;
}

/** model, dataset, result and resultJson are resolved by AnalysisResolver from the record. */
@ObjectType('Analysis', { description: 'One request to run an analyzer on a model (and dataset).' })
export class AnalysisType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  analyzer!: string;

  @Field(() => Int)
  analyzerVersion!: number;

  @Field(() => AnalysisStatus)
  status!: Status;

  @Field(() => Float, { description: '0..1' })
  progress!: number;

  @Field(() => String, { nullable: true })
  message!: string | null;

  @Field(() => Boolean, { description: 'Answered from the results cache, without running.' })
  cached!: boolean;

  @Field(() => JSONScalar, { description: 'The params as run: defaults filled in.' })
  params!: Record<string, unknown>;

  @Field(() => AnalysisError, { nullable: true })
  error!: AnalysisError | null;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true })
  startedAt!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true })
  finishedAt!: Date | null;

  @Field(() => Int, { nullable: true })
  durationMs!: number | null;

  /** The stored row, for the field resolvers (not a GraphQL field). */
  record!: AnalysisRecord;

  static from(r: AnalysisRecord): AnalysisType {
    return Object.assign(new AnalysisType(), {
      id: r.id,
      analyzer: r.analyzer,
      analyzerVersion: r.analyzerVersion,
      status: r.status,
      progress: r.progress,
      message: r.message,
      cached: r.cached,
      params: r.params,
      error: r.error,
      createdAt: r.createdAt,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
      durationMs: r.durationMs,
      record: r,
    });
  }
}

@ObjectType({ description: 'A file an analyzer produced (PNG overlay, SVG plot, .npz arrays).' })
export class Artifact {
  @Field(() => String)
  name!: string;

  @Field(() => String)
  mimeType!: string;

  @Field(() => Int)
  sizeBytes!: number;

  @Field(() => String, { description: 'Path on this server (GET). With tokens configured it is signed and opens without a bearer header for 15 minutes.' })
  url!: string;
}

@InputType()
export class RunAnalysisInput {
  @Field(() => ID)
  modelId!: string;

  @Field(() => ID, { nullable: true })
  datasetId?: string | null;

  @Field(() => String)
  analyzer!: string;

  @Field(() => JSONScalar, { nullable: true, description: 'Analyzer params; see the analyzers query for names, types and defaults.' })
  params?: Record<string, unknown> | null;
}

@InputType()
export class AnalysisFilter {
  @Field(() => AnalysisStatus, { nullable: true })
  status?: Status | null;

  @Field(() => String, { nullable: true })
  analyzer?: string | null;

  @Field(() => ID, { nullable: true })
  modelId?: string | null;

  @Field(() => ID, { nullable: true })
  datasetId?: string | null;
}

@InputType()
export class Pagination {
  @Field(() => Int, { defaultValue: 0 })
  offset!: number;

  @Field(() => Int, { defaultValue: 50, description: 'At most 500.' })
  limit!: number;
}

@ObjectType()
export class AnalysisPage {
  @Field(() => [AnalysisType])
  items!: AnalysisType[];

  @Field(() => Int, { description: 'Matching analyses in all pages.' })
  total!: number;
}
