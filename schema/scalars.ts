/** Scalars the schema uses: JSON and DateTime (graphql-scalars), Upload (GraphQL multipart requests). */
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import GraphQLUpload from 'graphql-upload/GraphQLUpload.mjs';

export const JSONScalar = JSONResolver;
export const DateTimeScalar = DateTimeResolver;
export const UploadScalar = GraphQLUpload;
export type { FileUpload } from 'graphql-upload/processRequest.mjs';
