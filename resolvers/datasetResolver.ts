import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { DatasetPreviewType, DatasetType } from '../schema/dataset.js';
import { UploadScalar, type FileUpload } from '../schema/scalars.js';
import type { GqlContext } from './context.js';
import { readUpload } from './upload.js';

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
  @FieldResolver(() => DatasetPreviewType, { description: 'The first samples (at most 64) and the label histogram.' })
  async preview(
    @Root() d: DatasetType,
    @Arg('limit', () => Int, { defaultValue: 16 }) limit: number,
    @Ctx() { app }: GqlContext,
  ): Promise<DatasetPreviewType> {
    return app.datasets.preview(d.id, Math.max(0, Math.min(64, limit)));
  }

  @Authorized('write')
  @Mutation(() => DatasetType, {
    description: 'Upload a dataset (.npz, .csv, or .zip of class folders). With modelId it must fit that model (DATASET_MISMATCH).',
  })
  async uploadDataset(
    @Arg('file', () => UploadScalar) file: Promise<FileUpload>,
    @Arg('name', () => String, { nullable: true }) name: string | null,
    @Arg('modelId', () => ID, { nullable: true }) modelId: string | null,
    @Ctx() { app }: GqlContext,
  ): Promise<DatasetType> {
    const { bytes, filename } = await readUpload(file, app.config.maxUploadBytes);
    return DatasetType.from(await app.datasets.ingest({ bytes, filename, name, modelId }));
  }
}
