/** The BullMQ parts of the server, for createApp: the queue the services write to and the runners that watch it. */
import type { Logger } from 'pino';
import type { Store } from '../../storage/store.js';
import type { LocalServices } from '../local.js';
import { BullJobQueue } from './bullQueue.js';
import { redisOptions } from './connection.js';
import { RemoteRunners } from './remoteRunners.js';

export type { RemoteRunners };

export function remoteQueueing(queueUrl: string, attempts: number, log: Logger) {
  const connection = redisOptions(queueUrl);
  let queue: BullJobQueue | undefined;
  return {
    makeQueue: (store: Store) => (queue = new BullJobQueue(store, connection, attempts, log.child({ role: 'queue' }))),
    runners: (services: LocalServices) =>
      new RemoteRunners({ queueUrl, queue: queue!, store: services.store, events: services.events, log: log.child({ role: 'queue' }) }),
  };
}
