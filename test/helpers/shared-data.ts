/**
 * ../shared/data beside the project root, wherever the checkout lives (tests run from
 * dist/test, so that is four levels up from this compiled file's folder).
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const SHARED_DATA = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'shared', 'data');

export const sharedData = (relative: string): string => path.join(SHARED_DATA, relative);
