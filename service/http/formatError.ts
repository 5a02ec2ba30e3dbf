/**
 * The last stop of every GraphQL error: give each one a code from DESIGN.md. Resolver errors
 * already carry one (resolvers/errors.ts); this covers what GraphQL and Apollo raise
 * themselves, and hides the details of unexpected failures (they are logged instead).
 */
import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { AppError, ERROR_CODES } from '../../common/errors.js';

const DESIGN_CODES = new Set<string>(ERROR_CODES);

/** Request-shape errors raised by GraphQL/Apollo: the caller sent something unusable. */
const CALLER_ERRORS = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'BAD_REQUEST', 'OPERATION_RESOLUTION_FAILURE', 'PERSISTED_QUERY_NOT_SUPPORTED']);

export function makeFormatError(log: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = String(formatted.extensions?.code ?? '');
    if (DESIGN_CODES.has(code)) return formatted;
    const original = unwrapResolverError(error);
    if (original instanceof AppError) return { ...formatted, extensions: { ...formatted.extensions, code: original.code } };
    // A validation rule of ours (queryCost.ts) sets a design code; Apollo files its errors as GRAPHQL_VALIDATION_FAILED.
    const ruleCode = (error as { originalError?: { extensions?: Record<string, unknown> } } | null)?.originalError?.extensions?.code;
    if (typeof ruleCode === 'string' && DESIGN_CODES.has(ruleCode)) {
      return { ...formatted, extensions: { ...formatted.extensions, code: ruleCode, graphqlCode: code } };
    }
    if (/exceeds maximum operation depth/.test(formatted.message)) {
      return { ...formatted, extensions: { ...formatted.extensions, code: 'TOO_LARGE', graphqlCode: code } };
    }
    if (CALLER_ERRORS.has(code)) return { ...formatted, extensions: { ...formatted.extensions, code: 'BAD_PARAMS', graphqlCode: code } };
    log.error({ err: original instanceof Error ? { message: original.message, stack: original.stack } : String(original), path: formatted.path }, 'unexpected GraphQL error');
    return { message: 'internal error', path: formatted.path, locations: formatted.locations, extensions: { code: 'INTERNAL' } };
  };
}
