import type { AuthChecker } from 'type-graphql';
import type { Scope } from '../service/config.js';
import type { GqlContext } from './context.js';
import { graphqlError } from './errors.js';

/**
 * @Authorized('read' | 'write') checks the caller's token scopes. (Callers without a valid token
 * never get here: the HTTP layer answers them UNAUTHENTICATED.)
 */
export const scopeChecker: AuthChecker<GqlContext, Scope> = ({ context }, required) => {
  const missing = required.filter((s) => !context.scopes.has(s));
  if (missing.length > 0) throw graphqlError('FORBIDDEN', `this operation needs the ${missing.join(', ')} scope`);
  return true;
};
