import { Field, ID, Int, ObjectType } from 'type-graphql';
import type { DatasetRecord } from '../storage/records.js';
import { DateTimeScalar } from './scalars.js';

@ObjectType('Dataset', { description: 'An uploaded dataset (npz, CSV or a zip of image folders); the same bytes are stored once.' })
export class DatasetType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  sha256!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { description: 'npz, csv or imagefolder.' })
  format!: string;

  @Field(() => Int)
  sizeBytes!: number;

  @Field(() => Int, { description: 'Number of samples.' })
  count!: number;

  @Field(() => [Int], { description: 'Per-sample shape of x as stored.' })
  sampleShape!: number[];

  @Field(() => Boolean)
  hasLabels!: boolean;

  @Field(() => [String], { nullable: true, description: 'Class names, when the format carries them.' })
  classes!: string[] | null;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  static from(d: DatasetRecord): DatasetType {
    return Object.assign(new DatasetType(), {
      id: d.id,
      sha256: d.sha256,
      name: d.name,
      format: d.format,
      sizeBytes: d.sizeBytes,
      count: d.summary.count,
      sampleShape: d.summary.sampleShape,
      hasLabels: d.summary.hasLabels,
      classes: d.summary.classes ?? null,
      createdAt: d.createdAt,
    });
  }
}
