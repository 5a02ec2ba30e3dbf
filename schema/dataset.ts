import { Field, Float, ID, InputType, Int, ObjectType } from 'type-graphql';
import type { DatasetRecord } from '../service/records.js';
import type { Preprocessing } from '../common/preprocessing.js';
import { DateTimeScalar } from './scalars.js';

@ObjectType('Resize')
@InputType('ResizeInput')
export class ResizeType {
  @Field(() => [Int], { description: '[H, W].' })
  size!: number[];

  @Field(() => String, { nullable: true, description: 'bilinear (default) or nearest.' })
  mode?: string | null;
}

/** One class for the upload argument and the stored spec (datasets/preprocessing.ts checks the values). */
@ObjectType('Preprocessing', { description: 'How the file is prepared for the model, in this order: layout, resize, channel order, scale, mean/std, dtype.' })
@InputType('PreprocessingInput')
export class PreprocessingType {
  @Field(() => Float, { nullable: true, description: 'Multiplies every value first (1/255 = 0.00392156862745098 for 0..255 pixels).' })
  scale?: number | null;

  @Field(() => [Float], { nullable: true, description: 'Subtracted per channel after scaling (one value, or one per channel).' })
  mean?: number[] | null;

  @Field(() => [Float], { nullable: true, description: 'Divides per channel after the mean.' })
  std?: number[] | null;

  @Field(() => String, { nullable: true, description: 'RGB or BGR: the channel order the model takes (data is read as RGB).' })
  channelOrder?: string | null;

  @Field(() => String, { nullable: true, description: 'NCHW or NHWC: the layout the samples are stored in.' })
  layout?: string | null;

  @Field(() => ResizeType, { nullable: true })
  resize?: ResizeType | null;

  @Field(() => String, { nullable: true, description: 'float32, uint8 or int8 (round to nearest and clamp).' })
  dtype?: string | null;

  @Field(() => String, { nullable: true, description: 'CSV: the label column by header name (default the first column).' })
  labelColumn?: string | null;

  @Field(() => [String], { nullable: true, description: 'Class names in index order (default: sorted).' })
  classes?: string[] | null;

  @Field(() => [Float], { nullable: true, description: '[min, max] the model was trained on; inputs far outside it get a warning.' })
  expectedRange?: number[] | null;

  static from(p: Preprocessing): PreprocessingType {
    return Object.assign(new PreprocessingType(), p, p.resize ? { resize: Object.assign(new ResizeType(), p.resize) } : {});
  }
}

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

  @Field(() => String, { description: 'sha256 of the file; sha256 is the dataset identity (the file hash, combined with the preprocessing when there is one).' })
  fileSha256!: string;

  @Field(() => [Int], { description: 'Per-sample shape of x after the preprocessing (as stored when there is none).' })
  sampleShape!: number[];

  @Field(() => PreprocessingType, { nullable: true, description: 'Given at upload; null when none (then the model\'s declared preprocessing applies, or for image folders pixels / 255).' })
  preprocessing!: PreprocessingType | null;

  @Field(() => String, { nullable: true, description: 'Element type x is stored in (uint8, float32, ...).' })
  dtype!: string | null;

  @Field(() => [Float], { nullable: true, description: '[min, max] of the values after the preprocessing: what the model will see.' })
  valueRange!: number[] | null;

  @Field(() => [Float], { nullable: true, description: '[min, max] of the values as stored.' })
  rawValueRange!: number[] | null;

  @Field(() => [Int], { nullable: true, description: 'Samples per class label 0, 1, ... (class labels only).' })
  labelHistogram!: number[] | null;

  @Field(() => String, { nullable: true, description: 'How labels were read when not as given (one-hot, class names).' })
  labelNote!: string | null;

  @Field(() => Boolean)
  hasLabels!: boolean;

  @Field(() => [String], { nullable: true, description: 'Class names (label i is name i), when the format carries them: image folder names and text labels, sorted unless the preprocessing gives classes.' })
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
      fileSha256: d.fileSha256,
      sampleShape: d.summary.sampleShape,
      preprocessing: d.preprocessing ? PreprocessingType.from(d.preprocessing) : null,
      dtype: d.summary.dtype ?? null,
      valueRange: d.summary.valueRange ?? null,
      rawValueRange: d.summary.rawValueRange ?? null,
      labelHistogram: d.summary.labelHistogram ?? null,
      labelNote: d.summary.labelNote ?? null,
      hasLabels: d.summary.hasLabels,
      classes: d.summary.classes ?? null,
      createdAt: d.createdAt,
    });
  }
}

@ObjectType('DatasetSample', { description: 'One sample of a dataset, after its preprocessing.' })
export class DatasetSampleType {
  @Field(() => Int)
  index!: number;

  @Field(() => Float, { nullable: true, description: 'The class label (or first target value); null without labels.' })
  label!: number | null;

  @Field(() => [Float], { description: 'x of the sample, flattened in the order of sampleShape.' })
  values!: number[];
}
