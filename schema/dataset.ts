import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
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

@ObjectType('DatasetSample', { description: 'One sample of a dataset, as stored.' })
export class DatasetSampleType {
  @Field(() => Int)
  index!: number;

  @Field(() => Float, { nullable: true, description: 'The class label (or first target value); null without labels.' })
  label!: number | null;

  @Field(() => [Float], { description: 'x of the sample, flattened in the order of sampleShape.' })
  values!: number[];
}

@ObjectType('LabelCount')
export class LabelCountType {
  @Field(() => Int)
  label!: number;

  @Field(() => String, { nullable: true, description: 'Class name, when the format carries names.' })
  name!: string | null;

  @Field(() => Int)
  count!: number;
}

@ObjectType('DatasetPreview', { description: 'A few samples and the label histogram, for looking at a dataset.' })
export class DatasetPreviewType {
  @Field(() => [DatasetSampleType])
  samples!: DatasetSampleType[];

  @Field(() => [LabelCountType], { description: 'Samples per class label, by label; empty without integer labels.' })
  labelHistogram!: LabelCountType[];
}
