import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { DatasetSampleType, DatasetType, PreprocessingType } from '../schema/dataset.js';
import { UploadScalar, type FileUpload } from '../schema/scalars.js';
import { DeletionType } from '../schema/deletion.js';
import type { GqlContext } from './context.js';
import { readUpload } from './upload.js';
import { parsePreprocessing } from '../datasets/preprocessing.js';

@Resolver(() => DatasetType)
export class DatasetResolver {
  @Authorized('read')
  @Query(() => [DatasetType])
  async datasets(@Ctx() { app }: GqlContext): Promise<DatasetType[]> {
    return (await app.datasets.list()).map(DatasetType.from);
  }

  @Authorized('read')
  @Query(() => DatasetType)
  async dataset(@Arg('id', () => ID) id: string, @Ctx() { app }: GqlContext): Promise<DatasetType> {
    return DatasetType.from(await app.datasets.get(id));
  }

  @Authorized('read')
  @FieldResolver(() => [DatasetSampleType], { description: 'The first samples (at most 64), after preprocessing: what a dashboard previews.' })
  async samples(
    @Root() d: DatasetType,
    @Arg('limit', () => Int, { defaultValue: 16 }) limit: number,
    @Ctx() { app }: GqlContext,
  ): Promise<DatasetSampleType[]> {
    return app.datasets.samples(d.id, Math.max(0, Math.min(64, limit)));
  }

  @Authorized('write')
  @Mutation(() => DatasetType, {
    description:
      'Upload a dataset (.npz, .csv, or .zip of class folders), optionally with its preprocessing. With modelId it must fit that model (DATASET_MISMATCH). NaN/Inf values are refused (BAD_DATASET naming the first).',
  })
  async uploadDataset(
    @Arg('file', () => UploadScalar) file: Promise<FileUpload>,
    @Arg('name', () => String, { nullable: true }) name: string | null,
    @Arg('modelId', () => ID, { nullable: true }) modelId: string | null,
    @Arg('preprocessing', () => PreprocessingType, { nullable: true, description: 'How to prepare the values for the model; part of the dataset identity.' })
    preprocessing: PreprocessingType | null,
    @Ctx() { app }: GqlContext,
  ): Promise<DatasetType> {
    const { bytes, filename } = await readUpload(file, app.config.maxUploadBytes);
    return DatasetType.from(await app.datasets.ingest({ bytes, filename, name, modelId, preprocessing: parsePreprocessing({ ...preprocessing }) }));
  }

  @Authorized('write')
  @Mutation(() => DeletionType, {
    description:
      'Delete a dataset with its analyses and cached results, and the blobs nothing else uses (the file stays while another dataset uses it). CONFLICT while an analysis of it is queued or running.',
  })
  async deleteDataset(@Arg('id', () => ID) id: string, @Ctx() { app }: GqlContext): Promise<DeletionType> {
    return DeletionType.from(id, await app.datasets.delete(id));
  }
}
