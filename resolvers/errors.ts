/** The one place AppErrors become GraphQL errors with extensions.code. */
import { GraphQLError } from 'graphql';
import type { MiddlewareFn } from 'type-graphql';
import { AppError, type ErrorCode } from '../common/errors.js';

export function appErrorToGraphQL(err: AppError): GraphQLError {
  return new GraphQLError(err.message, {
    extensions: { code: err.code, ...(err.details ? { details: err.details } : {}) },
    originalError: err,
  });
}

export const graphqlError = (code: ErrorCode, message: string) => new GraphQLError(message, { extensions: { code } });

/** Global middleware: resolvers throw AppError; clients see extensions.code. */
export const mapAppErrors: MiddlewareFn = async (_action, next) => {
  try {
    return await next();
  } catch (err) {
    if (err instanceof AppError) throw appErrorToGraphQL(err);
    throw err;
  }
};
