import type { Kysely } from 'kysely';
import type { Database } from '../db/types.js';

/** Installation-wide values in `tessera_meta` (the installation id, generated secrets). */
export class MetaRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * The value under `key`, storing `candidate` first if there is none. Two instances starting
   * together agree: the first insert wins and both read it back.
   */
  async getOrCreate(key: string, candidate: string): Promise<string> {
    await this.db
      .insertInto('tessera_meta')
      .values({ key, value: candidate })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    const row = await this.db.selectFrom('tessera_meta').select('value').where('key', '=', key).executeTakeFirstOrThrow();
    return row.value;
  }
}
