import type { Migration } from 'kysely';
import * as m0001 from './0001_meta.js';
import * as m0002 from './0002_accounts.js';
import * as m0003 from './0003_profiles.js';
import * as m0004 from './0004_files.js';
import * as m0005 from './0005_service_token_revocations.js';
import * as m0006 from './0006_display_names_neutralised.js';

/** Every migration, in order. A static list keeps `tsc` output and the sources in step. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001_meta': m0001,
  '0002_accounts': m0002,
  '0003_profiles': m0003,
  '0004_files': m0004,
  '0005_service_token_revocations': m0005,
  '0006_display_names_neutralised': m0006,
};
