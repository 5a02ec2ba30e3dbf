/**
 * The third-party models, datasets and properties the tests and benches read, shipped inside the
 * repository under test/data (its README lists source, commit and licence of every file).
 * Located from the project root — the nearest folder above this file with a package.json — so the
 * same path works from test/helpers (sources) and dist/test/helpers (compiled).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { LoadedModel } from '../../analyzers/types.js';
import { loaded } from './tiny-models.js';

function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

/** The checkout's root folder (where package.json is). */
export const PROJECT_ROOT = projectRoot();

export const TEST_DATA = path.join(PROJECT_ROOT, 'test', 'data');

/** Absolute path of a file under test/data. */
export const testData = (relative: string): string => path.join(TEST_DATA, relative);

/** A file under test/data, as bytes. */
export const readTestData = (relative: string): Uint8Array => new Uint8Array(readFileSync(testData(relative)));

/** A model under test/data as the LoadedModel an analyzer receives. */
export const loadTestModel = (relative: string): LoadedModel => loaded(readTestData(relative));
