import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { MetricFilterInput, PhaseDiagramType, PhaseThresholdsInput, RunZooAnalysisInput, ZooModelType, ZooRunType, ZooType } from '../schema/zoo.js';
import { UploadScalar, type FileUpload } from '../schema/scalars.js';
import type { ZooService } from '../service/zooService.js';
import type { GqlContext } from './context.js';
import { readUpload } from './upload.js';

const zoos = (ctx: GqlContext): ZooService => ctx.app.zoos;

async function runView(s: ZooService, id: string): Promise<ZooRunType> {
  const { run, progress, failures } = await s.readRun(id);
  return ZooRunType.from(run, progress, failures);
}

@Resolver(() => ZooType)
export class ZooResolver {
  @Authorized('read')
  @Query(() => [ZooType])
  async zoos(@Ctx() ctx: GqlContext): Promise<ZooType[]> {
    return (await zoos(ctx).list()).map(ZooType.from);
  }

  @Authorized('read')
  @Query(() => ZooType, { description: 'A zoo by id (or by name).' })
  async zoo(@Arg('id', () => ID) id: string, @Ctx() ctx: GqlContext): Promise<ZooType> {
    return ZooType.from(await zoos(ctx).get(id));
  }

  @Authorized('read')
  @Query(() => ZooRunType)
  async zooRun(@Arg('id', () => ID) id: string, @Ctx() ctx: GqlContext): Promise<ZooRunType> {
    return runView(zoos(ctx), id);
  }

  @Authorized('write')
  @Mutation(() => ZooType, {
    description:
      'Create a zoo from a zip of ONNX files and a manifest (JSON or CSV: file + hyperparameters), given separately or inside the zip as manifest.json/manifest.csv (files relative to it). GraphQL multipart request.',
  })
  async createZoo(
    @Arg('archive', () => UploadScalar) archive: Promise<FileUpload>,
    @Arg('manifest', () => UploadScalar, { nullable: true }) manifest: Promise<FileUpload> | null,
    @Arg('name', () => String, { nullable: true }) name: string | null,
    @Ctx() ctx: GqlContext,
  ): Promise<ZooType> {
    const max = ctx.app.config.maxUploadBytes;
    const zip = await readUpload(archive, max);
    const m = manifest ? await readUpload(manifest, max) : null;
    const given = m ? { text: new TextDecoder().decode(m.bytes), filename: m.filename } : null;
    return ZooType.from(await zoos(ctx).createZooFromArchive(name, given, zip.bytes, max));
  }

  @Authorized('write')
  @Mutation(() => ZooRunType, { description: 'Analyze every model of a zoo: one job per model and analyzer, cached ones skipped; the same request again returns the unfinished run.' })
  async runZooAnalysis(@Arg('input', () => RunZooAnalysisInput) input: RunZooAnalysisInput, @Ctx() ctx: GqlContext): Promise<ZooRunType> {
    const s = zoos(ctx);
    const run = await s.startRun(input);
    return runView(s, run.id);
  }

  @FieldResolver(() => [ZooModelType], { description: 'The models with metrics and phase labels; filter by metric ranges or phase, sort by any metric or hyperparameter.' })
  async models(
    @Root() zoo: ZooType,
    @Arg('sortBy', () => String, { nullable: true }) sortBy: string | null,
    @Arg('descending', () => Boolean, { defaultValue: false }) descending: boolean,
    @Arg('filters', () => [MetricFilterInput], { nullable: true }) filters: MetricFilterInput[] | null,
    @Arg('phase', () => String, { nullable: true }) phase: string | null,
    @Arg('thresholds', () => PhaseThresholdsInput, { nullable: true }) thresholds: PhaseThresholdsInput | null,
    @Ctx() ctx: GqlContext,
  ): Promise<ZooModelType[]> {
    const views = await zoos(ctx).modelViews(zoo.id, { sortBy, descending, filters, phase, thresholds });
    return views.map(ZooModelType.from);
  }

  @FieldResolver(() => [ZooRunType], { description: 'Batch analyses of this zoo, newest first.' })
  async runs(@Root() zoo: ZooType, @Ctx() ctx: GqlContext): Promise<ZooRunType[]> {
    const s = zoos(ctx);
    return Promise.all((await s.runs(zoo.id)).map(async (r) => ZooRunType.from(r, await s.progress(r.id), await s.failures(r.id))));
  }

  @FieldResolver(() => PhaseDiagramType, { description: 'A metric over two hyperparameter axes (default: the zoo load and temperature axes).' })
  async phaseDiagram(
    @Root() zoo: ZooType,
    @Arg('metric', () => String) metric: string,
    @Arg('x', () => String, { nullable: true }) x: string | null,
    @Arg('y', () => String, { nullable: true }) y: string | null,
    @Arg('thresholds', () => PhaseThresholdsInput, { nullable: true }) thresholds: PhaseThresholdsInput | null,
    @Ctx() ctx: GqlContext,
  ): Promise<PhaseDiagramType> {
    return PhaseDiagramType.from(await zoos(ctx).diagram(zoo.id, metric, { x, y, thresholds }));
  }
}
