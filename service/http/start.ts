/** `serve`: the app behind HTTP, listening, with start-up facts logged and a graceful stop. */
import type { Logger } from 'pino';
import type { GraphQLSchema } from 'graphql';
import type { Config } from '../config.js';
import { createLogger } from '../logger.js';
import { createApp, type App } from '../app.js';
import { createHttpServer } from './server.js';

export interface RunningServer {
  app: App;
  log: Logger;
  url: string;
  /** Graceful stop: no new requests or jobs; running jobs get config.shutdownGraceMs, then go back to the queue. */
  stop(): Promise<void>;
}

/** schemaFor builds the GraphQL schema for the app (the resolvers sit above the service). */
export async function startServer(config: Config, schemaFor: (app: App) => Promise<GraphQLSchema>, log: Logger = createLogger(config.logLevel)): Promise<RunningServer> {
  const app = await createApp(config, log);
  const http = await createHttpServer(app, await schemaFor(app));
  const address = await http.listen(config.port, config.host);
  const url = `http://${address.address}:${address.port}/graphql`;
  if (!config.tokens) {
    log.warn(
      { host: config.host },
      'no API tokens configured (ONNXSCOPE_TOKENS / ONNXSCOPE_TOKENS_FILE): listening on loopback only, every local caller may read and write',
    );
  }
  log.info({ url, dashboard: `http://${address.address}:${address.port}/`, dataDir: config.dataDir, workers: config.workers, auth: config.tokens ? 'bearer tokens' : 'none (loopback only)' }, 'onnxscope listening');
  // Report the execution provider actually in use (CUDA falls back to CPU when its libraries are absent).
  app.pool.whenReady.then(() => app.pool.runtimeInfo()).then(
    (runtime) => log.info({ runtime }, 'onnxruntime'),
    (err: unknown) => log.error({ err: (err as Error).message }, 'could not query onnxruntime'),
  );
  return {
    app,
    log,
    url,
    async stop() {
      await http.close();
      await app.close();
    },
  };
}
