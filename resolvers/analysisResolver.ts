import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import { AnalysisFilter, AnalysisPage, AnalysisType, Artifact, Pagination, RunAnalysisInput } from '../schema/analysis.js';
import { publicArtifactUrl } from '../service/http/artifacts.js';
import { ModelType } from '../schema/model.js';
import { DeletionType } from '../schema/deletion.js';
import { DatasetType } from '../schema/dataset.js';
import { JSONScalar } from '../schema/scalars.js';
import { AnalysisResultUnion } from '../schema/results/index.js';
import { typedResult } from '../schema/results/registry.js';
import type { GqlContext } from './context.js';
import { clampLimit } from './modelResolver.js';

/** The subscription topic; the topic id is the analysis id (see buildGraphQLSchema's pubSub). */
export const ANALYSIS_UPDATED = 'ANALYSIS_UPDATED';

@Resolver(() => AnalysisType)
export class AnalysisResolver {
  @Authorized('read')
  @Query(() => AnalysisType)
  async analysis(@Arg('id', () => ID) id: string, @Ctx() { app }: GqlContext): Promise<AnalysisType> {
    return AnalysisType.from(await app.analyses.get(id));
  }

  @Authorized('read')
  @Query(() => AnalysisPage, { description: 'Analyses, newest first.' })
  async analyses(
    @Arg('filter', () => AnalysisFilter, { nullable: true }) filter: AnalysisFilter | null,
    @Arg('pagination', () => Pagination, { nullable: true }) pagination: Pagination | null,
    @Ctx() { app }: GqlContext,
  ): Promise<AnalysisPage> {
    const { items, total } = await app.analyses.list(
      {
        status: filter?.status ?? undefined,
        analyzer: filter?.analyzer ?? undefined,
        modelId: filter?.modelId ?? undefined,
        datasetId: filter?.datasetId ?? undefined,
      },
      Math.max(0, pagination?.offset ?? 0),
      clampLimit(pagination?.limit ?? 50),
    );
    return Object.assign(new AnalysisPage(), { items: items.map(AnalysisType.from), total });
  }

  @Authorized('write')
  @Mutation(() => AnalysisType, { description: 'Answered from the cache at once (cached: true), or queued.' })
  async runAnalysis(@Arg('input', () => RunAnalysisInput) input: RunAnalysisInput, @Ctx() { app }: GqlContext): Promise<AnalysisType> {
    return AnalysisType.from(await app.analyses.run(input, { admit: true }));
  }

  @Authorized('write')
  @Mutation(() => AnalysisType)
  async cancelAnalysis(@Arg('id', () => ID) id: string, @Ctx() { app }: GqlContext): Promise<AnalysisType> {
    return AnalysisType.from(await app.analyses.cancel(id));
  }

  @Authorized('write')
  @Mutation(() => DeletionType, {
    description:
      'Delete an analysis; its cached result and artifacts go too when no other analysis shares them. CONFLICT while it is queued or running (cancel it first) or when a zoo run filed it.',
  })
  async deleteAnalysis(@Arg('id', () => ID) id: string, @Ctx() { app }: GqlContext): Promise<DeletionType> {
    return DeletionType.from(id, await app.analyses.delete(id));
  }

  @Authorized('read')
  @Subscription(() => AnalysisType, {
    description: 'The analysis each time its status or progress changes (starting with its current state).',
    topics: ANALYSIS_UPDATED,
    topicId: ({ args }) => String(args.id),
  })
  async analysisUpdated(@Arg('id', () => ID) id: string, @Ctx() { app }: GqlContext): Promise<AnalysisType> {
    return AnalysisType.from(await app.analyses.get(id));
  }

  @FieldResolver(() => ModelType)
  async model(@Root() a: AnalysisType, @Ctx() { app }: GqlContext): Promise<ModelType> {
    return ModelType.from(await app.models.get(a.record.modelId));
  }

  @FieldResolver(() => DatasetType, { nullable: true })
  async dataset(@Root() a: AnalysisType, @Ctx() { app }: GqlContext): Promise<DatasetType | null> {
    return a.record.datasetId ? DatasetType.from(await app.datasets.get(a.record.datasetId)) : null;
  }

  @FieldResolver(() => AnalysisResultUnion, { nullable: true, description: 'The typed result once SUCCEEDED.' })
  async result(@Root() a: AnalysisType, @Ctx() { app }: GqlContext): Promise<object | null> {
    return typedResult(a.analyzer, await app.analyses.result(a.record));
  }

  @FieldResolver(() => JSONScalar, { nullable: true, description: 'The raw result once SUCCEEDED.' })
  async resultJson(@Root() a: AnalysisType, @Ctx() { app }: GqlContext): Promise<unknown> {
    return app.analyses.result(a.record);
  }

  @FieldResolver(() => [Artifact], { description: 'Files the analyzer produced, once SUCCEEDED.' })
  async artifacts(@Root() a: AnalysisType, @Ctx() { app }: GqlContext): Promise<Artifact[]> {
    return (await app.analyses.artifacts(a.record)).map((x) =>
      Object.assign(new Artifact(), { name: x.name, mimeType: x.mimeType, sizeBytes: x.sizeBytes, url: publicArtifactUrl(a.id, x.name, app.config.tokens !== null) }),
    );
  }
}
