import { Authorized, Ctx, Query, Resolver } from 'type-graphql';
import { WorkerType } from '../schema/worker.js';
import type { GqlContext } from './context.js';

@Resolver()
export class WorkerResolver {
  @Authorized('read')
  @Query(() => [WorkerType], { description: 'The onnxscope worker processes heard from in the last seconds (BullMQ mode; empty with the embedded queue).' })
  workers(@Ctx() { app }: GqlContext): WorkerType[] {
    return (app.remote?.workers() ?? []).map(WorkerType.from);
  }
}
