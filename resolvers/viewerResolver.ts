import { Ctx, Query, Resolver } from 'type-graphql';
import { ViewerType } from '../schema/viewer.js';
import type { GqlContext } from './context.js';

@Resolver()
export class ViewerResolver {
  // No scope needed: a caller may always ask what its own token allows (e.g. to show read-only mode).
  @Query(() => ViewerType, { description: "The caller's scopes, and whether tokens are required." })
  viewer(@Ctx() { app, scopes }: GqlContext): ViewerType {
    return Object.assign(new ViewerType(), { scopes: [...scopes].sort(), tokensRequired: app.config.tokens !== null });
  }
}
