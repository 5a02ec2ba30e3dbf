import type { App } from '../service/app.js';
import type { Scope } from '../service/config.js';

/** What every resolver gets: the service, and the scopes of the caller's token. */
export interface GqlContext {
  app: App;
  scopes: ReadonlySet<Scope>;
}
