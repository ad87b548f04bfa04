import type { Kysely, Selectable } from 'kysely';
import type { Database, SigningKeysTable } from '../db/types.js';

export type SigningKeyRow = Selectable<SigningKeysTable>;

export class SigningKeysRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The active key and the retired ones retired after `retiredAfter` (still verifying tokens). */
  listVerifiable(retiredAfter: Date): Promise<SigningKeyRow[]> {
    return this.db
      .selectFrom('signing_keys')
      .selectAll()
      .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', retiredAfter)]))
      .orderBy('created_at', 'desc')
      .execute();
  }

  /** Adds the first active key; false when another instance got there first. */
  async insertFirst(key: Omit<SigningKeyRow, 'created_at' | 'retired_at'>): Promise<boolean> {
    const r = await this.db.insertInto('signing_keys').values(key).onConflict((oc) => oc.doNothing()).returning('kid').executeTakeFirst();
    return r !== undefined;
  }

  /** Retires the active key and makes `key` the active one, atomically. */
  async rotate(key: Omit<SigningKeyRow, 'created_at' | 'retired_at'>): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('signing_keys').set({ retired_at: new Date() }).where('retired_at', 'is', null).execute();
      await trx.insertInto('signing_keys').values(key).execute();
    });
  }
}
