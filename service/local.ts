/**
 * The services without a worker pool or HTTP: what the CLI uses to run an analysis in-process
 * against the same data dir and results cache as the server.
 */
import { openStore, type Store } from '../storage/store.js';
import type { Config } from './config.js';
import { AnalyzerCatalog } from './analyzerCatalog.js';
import { AnalysisEvents } from './events.js';
import { SqliteJobQueue } from './jobs/sqliteQueue.js';
import { ModelService } from './modelService.js';
import { DatasetService } from './datasetService.js';
import { AnalysisService } from './analysisService.js';

export interface LocalServices {
  store: Store;
  catalog: AnalyzerCatalog;
  models: ModelService;
  datasets: DatasetService;
  analyses: AnalysisService;
  close(): Promise<void>;
}

export async function openLocalServices(config: Config): Promise<LocalServices> {
  const store = await openStore(config.dataDir);
  const catalog = await AnalyzerCatalog.load(config.analyzerModules);
  return {
    store,
    catalog,
    models: new ModelService(store, config.maxUploadBytes),
    datasets: new DatasetService(store, config.maxUploadBytes),
    analyses: new AnalysisService(store, catalog, new SqliteJobQueue(store), new AnalysisEvents()),
    close: () => store.close(),
  };
}
