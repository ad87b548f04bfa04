import type { Migration } from 'kysely';
import * as m0001 from './0001_meta.js';

/** Every migration, in order. A static list keeps `tsc` output and the sources in step. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001_meta': m0001,
};
