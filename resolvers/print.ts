/**
 * Prints the schema to schema/schema.graphql (committed; a test fails when it drifts).
 * Run after changing a type: `npm run build && node dist/resolvers/print.js`.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printSchema } from 'graphql';
import { buildGraphQLSchema } from './index.js';

export const SCHEMA_FILE = fileURLToPath(new URL('../../schema/schema.graphql', import.meta.url));

export async function printedSchema(): Promise<string> {
  return `${printSchema(await buildGraphQLSchema())}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(SCHEMA_FILE, await printedSchema());
  console.log(`wrote ${SCHEMA_FILE}`);
}
