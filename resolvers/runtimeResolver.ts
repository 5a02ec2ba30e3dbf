import { Authorized, Ctx, Query, Resolver } from 'type-graphql';
import { RuntimeInfoType } from '../schema/runtime.js';
import type { GqlContext } from './context.js';

@Resolver()
export class RuntimeResolver {
  @Authorized('read')
  @Query(() => RuntimeInfoType, { description: 'ONNX Runtime version, providers available and in use, threads.' })
  async runtime(@Ctx() { app }: GqlContext): Promise<RuntimeInfoType> {
    const info = await app.pool.runtimeInfo();
    return Object.assign(new RuntimeInfoType(), {
      onnxruntimeVersion: info.onnxruntimeVersion,
      providersAvailable: info.availableProviders.map((p) => p.name),
      providerInUse: info.providerInUse,
      requested: info.requested,
      fallbackReason: info.fallbackReason,
      intraOpThreads: info.intraOpThreads,
      interOpThreads: info.interOpThreads,
      workers: app.pool.stats().size,
    });
  }
}
