/** Builds the executable GraphQL schema from the type-graphql classes and resolvers. */
import 'reflect-metadata';
import { buildSchema } from 'type-graphql';
import type { GraphQLSchema } from 'graphql';
import { loadResultTypes } from '../schema/results/index.js';
import { ModelResolver } from './modelResolver.js';
import { DatasetResolver } from './datasetResolver.js';
import { AnalysisResolver } from './analysisResolver.js';
import { AnalyzerResolver } from './analyzerResolver.js';
import { RuntimeResolver } from './runtimeResolver.js';
import { scopeChecker } from './auth.js';
import { mapAppErrors } from './errors.js';

export async function buildGraphQLSchema(): Promise<GraphQLSchema> {
  await loadResultTypes();
  return buildSchema({
    resolvers: [ModelResolver, DatasetResolver, AnalysisResolver, AnalyzerResolver, RuntimeResolver],
    authChecker: scopeChecker,
    // AuthChecker throws its own FORBIDDEN error; this mode never reaches the fallback.
    authMode: 'error',
    globalMiddlewares: [mapAppErrors],
    validate: false,
  });
}
