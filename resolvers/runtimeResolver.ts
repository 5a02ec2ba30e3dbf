import { Authorized, Ctx, Query, Resolver } from 'type-graphql';
import { RuntimeInfoType } from '../schema/runtime.js';
import type { GqlContext } from './context.js';

@Resolver()
export class RuntimeResolver {
  @Authorized('read')
  @Query(() => RuntimeInfoType, { description: 'ONNX Runtime version, providers available and in use, threads.' })
  async runtime(@Ctx() { app }: GqlContext): Promise<RuntimeInfoType> {
    return Object.assign(new RuntimeInfoType(), await app.runtime(), { workers: app.config.workers });
  }
}
