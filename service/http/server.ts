/**
 * HTTP front: Express 5 with /healthz, /readyz and /graphql (Apollo Server 5, multipart uploads
 * through graphql-upload, bearer auth, depth and cost limits) plus graphql-ws subscriptions on the
 * same path. Batched HTTP operations are off (Apollo's default): an array body is a 400.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import depthLimit from 'graphql-depth-limit';
import { GraphQLError, specifiedRules, validate, type ValidationRule } from 'graphql';
import graphqlUploadExpress from 'graphql-upload/graphqlUploadExpress.mjs';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { buildGraphQLSchema } from '../../resolvers/index.js';
import type { GqlContext } from '../../resolvers/context.js';
import type { App } from '../app.js';
import type { Scope } from '../config.js';
import { authenticate, scopesFor } from './auth.js';
import { healthRoutes } from './health.js';
import { artifactRoutes } from './artifacts.js';
import { workerApiRoutes } from './workerApi.js';
import { metricsRoutes } from './metrics.js';
import { webUiRoutes } from './webUi.js';
import { httpErrorHandler } from './errorHandler.js';
import { makeFormatError } from './formatError.js';
import { queryCostRule, variablesTooLarge } from './queryCost.js';

export interface HttpServer {
  server: http.Server;
  /** The Express app (tests drive it with supertest). */
  express: express.Express;
  listen(port: number, host: string): Promise<AddressInfo>;
  /** Stops accepting requests and waits for those in flight. */
  close(): Promise<void>;
}

export async function createHttpServer(app: App): Promise<HttpServer> {
  const { config, log } = app;
  const schema = await buildGraphQLSchema(app.events);
  const ex = express();
  const server = http.createServer(ex);
  let shuttingDown = false;
  const depthRule = depthLimit(config.maxQueryDepth) as ValidationRule;
  const costRule = queryCostRule({ maxFields: config.maxQueryFields, maxAliases: config.maxQueryAliases, maxListItems: config.maxListItems });

  const wsServer = new WebSocketServer({ server, path: '/graphql' });
  const wsCleanup = useServer(
    {
      schema,
      validate: (s, doc) => validate(s, doc, [...specifiedRules, depthRule, costRule]),
      onSubscribe: (_ctx, _id, payload) => {
        const refused = variablesTooLarge(payload.variables, config.maxListItems);
        return refused ? [refused] : undefined;
      },
      onConnect: (ctx) => scopesFor(config.tokens, connectionAuthorization(ctx.connectionParams)) !== null,
      context: (ctx): GqlContext => ({
        app,
        scopes: scopesFor(config.tokens, connectionAuthorization(ctx.connectionParams)) ?? new Set<Scope>(),
      }),
    },
    wsServer,
  );

  const apollo = new ApolloServer<GqlContext>({
    schema,
    validationRules: [depthRule, costRule],
    formatError: makeFormatError(log),
    // CSRF prevention stays on (the default): multipart uploads need `apollo-require-preflight: true`.
    csrfPrevention: true,
    // Errors carry a code and a message; stack traces stay in the logs.
    includeStacktraceInErrorResponses: false,
    // `serve` owns SIGTERM/SIGINT (jobs must finish or go back to the queue); Apollo's own
    // handlers would race it.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: server }),
      { async serverWillStart() { return { async drainServer() { await wsCleanup.dispose(); } }; } },
      {
        async requestDidStart() {
          return {
            async didResolveOperation({ request }) {
              const refused = variablesTooLarge(request.variables, config.maxListItems);
              if (refused) throw new GraphQLError(refused.message, { extensions: { ...refused.extensions, http: { status: 400 } } });
            },
          };
        },
      },
    ],
  });
  await apollo.start();

  ex.disable('x-powered-by');
  ex.use(healthRoutes(app, () => shuttingDown));
  ex.use(artifactRoutes(app));
  ex.use(metricsRoutes(app));
  ex.use(workerApiRoutes(app));
  ex.use(webUiRoutes());
  ex.use(
    '/graphql',
    authenticate(config.tokens),
    // Two files at most: createZoo takes a zip of models and, optionally, its manifest beside it.
    graphqlUploadExpress({ maxFileSize: config.maxUploadBytes, maxFiles: 2 }),
    express.json({ limit: '2mb' }),
    expressMiddleware(apollo, {
      context: async ({ res }): Promise<GqlContext> => ({ app, scopes: res.locals.scopes as ReadonlySet<Scope> }),
    }),
  );
  ex.use(httpErrorHandler(log));

  return {
    server,
    express: ex,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve(server.address() as AddressInfo));
      }),
    async close() {
      shuttingDown = true;
      await apollo.stop();
      // When never listening, Apollo's drain plugin leaves the server as it is.
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function connectionAuthorization(params: Record<string, unknown> | undefined): string | undefined {
  const v = params?.authorization ?? params?.Authorization;
  return typeof v === 'string' ? v : undefined;
}
