/** Gate analyses in this process, over the same data dir and results cache as `serve` and `analyze`. */
import type { Config } from '../service/config.js';
import { openLocalServices, runLocally } from '../service/local.js';
import type { GateBackend } from './backend.js';

export async function embeddedBackend(config: Config): Promise<GateBackend> {
  const services = await openLocalServices(config);
  return {
    where: `embedded (${config.dataDir})`,
    addModel: (bytes, name) => services.models.ingest(bytes, name),
    addDataset: (bytes, filename, preprocessing) => services.datasets.ingest({ bytes, filename, preprocessing }),
    async submit(req) {
      await services.analyses.prepare(req);
      return {
        async wait(progress, signal) {
          const outcome = await runLocally(services, req, progress, config.jobTimeoutMs, signal);
          return {
            analysisId: outcome.analysis.id,
            cached: outcome.cached,
            // As the cache stores it, so a first run and a cached one judge the same values.
            result: JSON.parse(JSON.stringify(outcome.result)) as unknown,
            durationMs: outcome.analysis.durationMs,
          };
        },
        cancel: async () => undefined,
      };
    },
    close: () => services.close(),
  };
}
