import type { App } from '../app.js';
import type { Scope } from '../config.js';

/** What the HTTP front gives every GraphQL operation: the service, and the scopes of the caller's token. */
export interface GqlContext {
  app: App;
  scopes: ReadonlySet<Scope>;
}
