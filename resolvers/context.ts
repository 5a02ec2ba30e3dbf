/** What every resolver gets (built per request by service/http/server.ts). */
export type { GqlContext } from '../service/http/context.js';
