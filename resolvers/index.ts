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
import { ZooResolver } from './zooResolver.js';
import { WorkerResolver } from './workerResolver.js';
import { ViewerResolver } from './viewerResolver.js';
import { scopeChecker } from './auth.js';
import { mapAppErrors } from './errors.js';
import { AnalysisEvents } from '../service/events.js';
import { ANALYSIS_UPDATED } from './analysisResolver.js';

/** The schema, with subscriptions fed by events (a fresh, silent source when only printing it). */
export async function buildGraphQLSchema(events: AnalysisEvents = new AnalysisEvents()): Promise<GraphQLSchema> {
  await loadResultTypes();
  return buildSchema({
    resolvers: [ModelResolver, DatasetResolver, AnalysisResolver, AnalyzerResolver, RuntimeResolver, ZooResolver, ViewerResolver, WorkerResolver],
    authChecker: scopeChecker,
    // AuthChecker throws its own FORBIDDEN error; this mode never reaches the fallback.
    authMode: 'error',
    globalMiddlewares: [mapAppErrors],
    validate: false,
    // type-graphql's PubSub seam over the service's change notifications (one topic, keyed by analysis id).
    pubSub: {
      publish: (_topic, id) => events.publish(String(id)),
      subscribe: (topic, id) => {
        if (topic !== ANALYSIS_UPDATED) throw new Error(`unknown subscription topic ${topic}`);
        return events.subscribe(String(id));
      },
    },
  });
}
