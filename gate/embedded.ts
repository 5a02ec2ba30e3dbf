/** Gate analyses in this process, over the same data dir and results cache as `serve` and `analyze`. */
import type { Config } from '../service/config.js';
import { openLocalServices, runLocally } from '../service/local.js';
import type { GateBackend } from './backend.js';

export async function embeddedBackend(config: Config): Promise<GateBackend> {
  const services = await openLocalServices(config);
  return {
    where: `embedded (${config.dataDir})`,
    addModel: (bytes, name) => services.models.ingest(bytes, name),
    addDataset: (bytes, filename) => services.datasets.ingest({ bytes, filename }),
    async submit(req) {
      await services.analyses.prepare(req);
      return {
        async wait(progress) {
          const outcome = await runLocally(services, req, progress, config.jobTimeoutMs);
          return { analysisId: outcome.analysis.id, cached: outcome.cached, result: outcome.result };
        },
      };
    },
    close: () => services.close(),
  };
}
