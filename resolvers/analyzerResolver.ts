import { Arg, Authorized, Ctx, Query, Resolver } from 'type-graphql';
import { AnalyzerInfo } from '../schema/analyzer.js';
import type { GqlContext } from './context.js';

@Resolver()
export class AnalyzerResolver {
  @Authorized('read')
  @Query(() => [AnalyzerInfo], { description: 'Analyzers with their parameters (types, defaults, ranges).' })
  analyzers(@Ctx() { app }: GqlContext): AnalyzerInfo[] {
    return app.catalog.list().map(AnalyzerInfo.from);
  }

  @Authorized('read')
  @Query(() => AnalyzerInfo)
  analyzer(@Arg('name', () => String) name: string, @Ctx() { app }: GqlContext): AnalyzerInfo {
    return AnalyzerInfo.from(app.catalog.get(name));
  }
}
