import type { Kysely } from 'kysely';
import type { Database } from '../db/types.js';

/** What retention deletes, table by table; each call deletes at most `limit` rows (one short statement). */
export class RetentionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Refresh tokens that expired before `before` (an expired token is refused whatever its state). */
  async deleteExpiredRefreshTokens(before: Date, limit: number): Promise<number> {
    const r = await this.db
      .deleteFrom('refresh_tokens')
      .where('id', 'in', (eb) => eb.selectFrom('refresh_tokens').select('id').where('expires_at', '<', before).limit(limit))
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Sessions that ended (expired or revoked) before `before`, with their refresh tokens (cascade). */
  async deleteEndedSessions(before: Date, limit: number): Promise<number> {
    const r = await this.db
      .deleteFrom('sessions')
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('sessions')
          .select('id')
          .where((w) => w.or([w('expires_at', '<', before), w('revoked_at', '<', before)]))
          .limit(limit),
      )
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** E-mail links (verify, reset) that expired before `before`, used or not. */
  async deleteExpiredEmailTokens(before: Date, limit: number): Promise<number> {
    const r = await this.db
      .deleteFrom('email_tokens')
      .where('id', 'in', (eb) => eb.selectFrom('email_tokens').select('id').where('expires_at', '<', before).limit(limit))
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Service-token revocations (RFC 7009) of tokens that expired before `before`: they are refused anyway. */
  async deleteExpiredServiceTokenRevocations(before: Date, limit: number): Promise<number> {
    const r = await this.db
      .deleteFrom('service_token_revocations')
      .where('token_id', 'in', (eb) => eb.selectFrom('service_token_revocations').select('token_id').where('expires_at', '<', before).limit(limit))
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Audit events recorded before `before`. */
  async deleteAuditEventsBefore(before: Date, limit: number): Promise<number> {
    const r = await this.db
      .deleteFrom('audit_events')
      .where('id', 'in', (eb) => eb.selectFrom('audit_events').select('id').where('occurred_at', '<', before).limit(limit))
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
