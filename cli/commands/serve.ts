import type { Command } from 'commander';
import { loadConfig } from '../../service/config.js';
import { startServer } from '../../service/http/start.js';
import { buildGraphQLSchema } from '../../resolvers/index.js';
import { action } from '../exit.js';
import { parsePort } from '../options.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the GraphQL service (default port 4000).')
    .option('--port <port>', 'port to listen on (env ONNXSCOPE_PORT, default 4000)', parsePort)
    .option('--data-dir <dir>', 'where models, datasets and results are kept (env ONNXSCOPE_DATA_DIR, default ./.onnxscope)')
    .option('--queue <url>', 'redis://HOST:PORT: queue jobs in BullMQ for `onnxscope worker` processes (env ONNXSCOPE_QUEUE; default: embedded queue and local workers)')
    .action(
      action(async (opts: { port?: number; dataDir?: string; queue?: string }) => {
        const running = await startServer(loadConfig({ port: opts.port, dataDir: opts.dataDir, queueUrl: opts.queue }), (app) => buildGraphQLSchema(app.events));
        // SIGTERM (orchestrators) and SIGINT (Ctrl-C): finish or re-queue running jobs, then exit.
        let stopping = false;
        const stop = (signal: NodeJS.Signals) => {
          if (stopping) return;
          stopping = true;
          running.log.info({ signal }, 'shutting down');
          running.stop().then(
            () => process.exit(0),
            (err: unknown) => {
              running.log.error({ err: (err as Error).message }, 'unclean shutdown');
              process.exit(1);
            },
          );
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
      }),
    );
}
