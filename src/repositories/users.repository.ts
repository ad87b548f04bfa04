import { sql, type Kysely, type Selectable } from 'kysely';
import { prepared } from '../db/prepared.js';
import { AppError } from '../errors/app-error.js';
import type { Database, UsersTable } from '../db/types.js';
import { isUniqueViolation } from './database-errors.js';

export type UserRow = Selectable<UsersTable>;

/** What a password sign-in reads of the account. */
export type SignInUser = Pick<
  UserRow,
  'id' | 'email' | 'display_name' | 'email_verified_at' | 'role' | 'password_hash' | 'password_changed_at' | 'locked_until' | 'created_at'
>;

export interface NewUser {
  email: string;
  displayName: string | null;
  passwordHash: string;
  role?: 'user' | 'admin';
  emailVerified?: boolean;
}

/** Far enough to mean "until an admin unlocks it" and still a valid timestamp everywhere. */
export const LOCKED_INDEFINITELY = new Date('9999-12-31T00:00:00Z');

export class UsersRepository {
  constructor(private readonly db: Kysely<Database>) {}

  findById(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findByEmail(email: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
  }

  /** The sign-in lookup (before every password check): only the columns it reads, prepared. */
  findForSignIn(email: string): Promise<SignInUser | undefined> {
    return this.db
      .selectFrom('users')
      .select(['id', 'email', 'display_name', 'email_verified_at', 'role', 'password_hash', 'password_changed_at', 'locked_until', 'created_at'])
      .where('email', '=', email)
      .modifyEnd(prepared('user_for_sign_in'))
      .executeTakeFirst();
  }

  /** The user and the first password-history entry, together. */
  async insert(user: NewUser): Promise<UserRow> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto('users')
          .values({
            email: user.email,
            display_name: user.displayName,
            password_hash: user.passwordHash,
            role: user.role ?? 'user',
            email_verified_at: user.emailVerified ? new Date() : null,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        await trx.insertInto('password_history').values({ user_id: row.id, password_hash: user.passwordHash }).execute();
        return row;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('email_taken', { cause: err });
      throw err;
    }
  }

  /**
   * Counts one failed sign-in atomically (instances share the row). Reaching `max` locks the
   * account until `lockedUntil` and restarts the count; `lockedNow` says this call did it.
   */
  async recordFailedLogin(id: string, max: number, lockedUntil: Date): Promise<{ lockedNow: boolean }> {
    const row = await this.db
      .updateTable('users')
      .set({
        failed_login_count: sql`case when failed_login_count + 1 >= ${max} then 0 else failed_login_count + 1 end`,
        locked_until: sql`case when failed_login_count + 1 >= ${max} then ${lockedUntil}::timestamptz else locked_until end`,
      })
      .where('id', '=', id)
      .returning(['failed_login_count', 'locked_until'])
      .executeTakeFirst();
    return { lockedNow: row !== undefined && row.failed_login_count === 0 && row.locked_until !== null && row.locked_until > new Date() };
  }

  async recordSuccessfulLogin(id: string, newHash: string | null): Promise<void> {
    const now = new Date();
    await this.db
      .updateTable('users')
      .set({ failed_login_count: 0, locked_until: null, last_login_at: now, last_active_at: now, ...(newHash ? { password_hash: newHash } : {}) })
      .where('id', '=', id)
      .execute();
  }

  async touchActive(id: string): Promise<void> {
    await this.db.updateTable('users').set({ last_active_at: new Date() }).where('id', '=', id).execute();
  }

  /** The hashes of the last `count` passwords, newest first (the current one included). */
  async recentPasswordHashes(id: string, count: number): Promise<string[]> {
    if (count <= 0) return [];
    const rows = await this.db
      .selectFrom('password_history')
      .select('password_hash')
      .where('user_id', '=', id)
      .orderBy('created_at', 'desc')
      .limit(count)
      .execute();
    return rows.map((r) => r.password_hash);
  }

  /** New password, its history entry, history trimmed to `keep`; unlocks (the owner proved themselves). */
  async setPassword(id: string, passwordHash: string, keep: number, extra: { verifyEmail?: string } = {}): Promise<UserRow> {
    return this.db.transaction().execute(async (trx) => {
      const now = new Date();
      const row = await trx
        .updateTable('users')
        .set({
          password_hash: passwordHash,
          password_changed_at: now,
          updated_at: now,
          failed_login_count: 0,
          locked_until: sql`case when locked_until = ${LOCKED_INDEFINITELY}::timestamptz then locked_until else null end`,
          ...(extra.verifyEmail
            ? { email_verified_at: sql`case when email = ${extra.verifyEmail} then coalesce(email_verified_at, now()) else email_verified_at end` }
            : {}),
        })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await trx.insertInto('password_history').values({ user_id: id, password_hash: passwordHash }).execute();
      await trx
        .deleteFrom('password_history')
        .where('user_id', '=', id)
        .where('id', 'not in', (q) =>
          q.selectFrom('password_history').select('id').where('user_id', '=', id).orderBy('created_at', 'desc').limit(Math.max(1, keep)),
        )
        .execute();
      return row;
    });
  }

  /** Marks the address verified, but only if it is still the account's address. */
  async markEmailVerified(id: string, email: string): Promise<UserRow | undefined> {
    return this.db
      .updateTable('users')
      .set({ email_verified_at: sql`coalesce(email_verified_at, now())`, updated_at: new Date() })
      .where('id', '=', id)
      .where('email', '=', email)
      .returningAll()
      .executeTakeFirst();
  }

  async setLock(id: string, lockedUntil: Date | null): Promise<UserRow | undefined> {
    return this.db
      .updateTable('users')
      .set({ locked_until: lockedUntil, failed_login_count: 0, updated_at: new Date() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
  }

  /** Admin search: e-mail or display-name prefix, newest first, keyset-paginated on (created_at, id). */
  async search(q: string | null, after: { createdAt: Date; id: string } | null, limit: number): Promise<UserRow[]> {
    let query = this.db.selectFrom('users').selectAll();
    if (q) {
      const pattern = `${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      query = query.where((eb) => eb.or([eb('email', 'like', pattern), eb(sql`lower(display_name)`, 'like', pattern.toLowerCase())]));
    }
    if (after) {
      query = query.where((eb) =>
        eb.or([eb('created_at', '<', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)])]),
      );
    }
    return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }
}
