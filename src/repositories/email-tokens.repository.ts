import type { Kysely, Selectable } from 'kysely';
import type { Database, EmailTokensTable } from '../db/types.js';

export type EmailTokenRow = Selectable<EmailTokensTable>;
export type EmailTokenPurpose = EmailTokensTable['purpose'];

/** Single-use links sent by e-mail: stored hashed, expiring, consumed atomically. */
export class EmailTokensRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** A new link; earlier unused links of the same purpose stop working (only the latest counts). */
  async create(userId: string, purpose: EmailTokenPurpose, tokenHash: string, email: string, expiresAt: Date): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('email_tokens')
        .set({ used_at: new Date() })
        .where('user_id', '=', userId)
        .where('purpose', '=', purpose)
        .where('used_at', 'is', null)
        .execute();
      await trx.insertInto('email_tokens').values({ user_id: userId, purpose, token_hash: tokenHash, email, expires_at: expiresAt }).execute();
    });
  }

  /** The link if it can still be used (not used, not expired). */
  findUsable(tokenHash: string, purpose: EmailTokenPurpose): Promise<EmailTokenRow | undefined> {
    return this.db
      .selectFrom('email_tokens')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .where('expires_at', '>', new Date())
      .executeTakeFirst();
  }

  /** Uses the link up; undefined when someone else already did (or it expired meanwhile). */
  consume(tokenHash: string, purpose: EmailTokenPurpose): Promise<EmailTokenRow | undefined> {
    return this.db
      .updateTable('email_tokens')
      .set({ used_at: new Date() })
      .where('token_hash', '=', tokenHash)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .where('expires_at', '>', new Date())
      .returningAll()
      .executeTakeFirst();
  }
}
