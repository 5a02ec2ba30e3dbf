import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { ModelType, SaliencyLayer } from '../schema/model.js';
import { AnalysisType } from '../schema/analysis.js';
import { DeletionType } from '../schema/deletion.js';
import { UploadScalar, type FileUpload } from '../schema/scalars.js';
import type { GqlContext } from './context.js';
import { readUpload } from './upload.js';

@Resolver(() => ModelType)
export class ModelResolver {
  @Authorized('read')
  @Query(() => [ModelType])
  async models(@Ctx() { app }: GqlContext): Promise<ModelType[]> {
    return (await app.models.list()).map(ModelType.from);
  }

  @Authorized('read')
  @Query(() => ModelType)
  async model(@Arg('id', () => ID) id: string, @Ctx() { app }: GqlContext): Promise<ModelType> {
    return ModelType.from(await app.models.get(id));
  }

  @Authorized('write')
  @Mutation(() => ModelType, { description: 'Upload an ONNX model (GraphQL multipart request). The same bytes give the same model.' })
  async uploadModel(
    @Arg('file', () => UploadScalar) file: Promise<FileUpload>,
    @Arg('name', () => String, { nullable: true }) name: string | null,
    @Ctx() { app }: GqlContext,
  ): Promise<ModelType> {
    const { bytes, filename } = await readUpload(file, app.config.maxUploadBytes);
    return ModelType.from(await app.models.ingest(bytes, name ?? filename.replace(/\.onnx$/i, '')));
  }

  @Authorized('write')
  @Mutation(() => DeletionType, {
    description:
      'Delete a model with its analyses and cached results, and the blobs nothing else uses. CONFLICT while an analysis of it is queued or running (cancel it first) or while it is in a zoo.',
  })
  async deleteModel(@Arg('id', () => ID) id: string, @Ctx() { app }: GqlContext): Promise<DeletionType> {
    return DeletionType.from(id, await app.models.delete(id));
  }

  @FieldResolver(() => [AnalysisType], { description: 'Analyses of this model, newest first.' })
  async analyses(
    @Root() model: ModelType,
    @Arg('limit', () => Int, { defaultValue: 50 }) limit: number,
    @Ctx() { app }: GqlContext,
  ): Promise<AnalysisType[]> {
    const page = await app.analyses.list({ modelId: model.id }, 0, clampLimit(limit));
    return page.items.map(AnalysisType.from);
  }

  @FieldResolver(() => [SaliencyLayer], {
    nullable: true,
    description: "Candidate layers for saliency maps, in graph order (null when the shapes can't be probed without data).",
  })
  async saliencyLayers(@Root() model: ModelType, @Ctx() { app }: GqlContext): Promise<SaliencyLayer[] | null> {
    const layers = await app.models.saliencyLayers(await app.models.get(model.id));
    return layers?.map((l) => Object.assign(new SaliencyLayer(), { name: l.name, op: l.op, kind: l.kind, shape: l.shape, height: l.h, width: l.w })) ?? null;
  }
}

export const clampLimit = (limit: number) => Math.max(1, Math.min(500, Math.trunc(limit)));
