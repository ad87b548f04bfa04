import { sql, type Kysely, type Selectable } from 'kysely';
import { prepared } from '../db/prepared.js';
import type { Database, SessionsTable } from '../db/types.js';
import { auditEventColumns, type NewAuditEvent } from './audit-events.repository.js';

export type SessionRow = Selectable<SessionsTable>;

export interface NewSession {
  userId: string;
  clientId: string | null;
  scope: string;
  ip: string | null;
  userAgent: string | null;
  refreshTokenHash: string;
  expiresAt: Date;
}

/** What a refresh token leads to. */
export interface RefreshTokenFamily {
  tokenId: string;
  sessionId: string;
  userId: string;
  scope: string;
  clientId: string | null;
}

export interface RotatedRefreshToken extends RefreshTokenFamily {
  /** the rotation moved the user's last_active_at (at most once a minute) */
  touchedUser: boolean;
}

export interface PresentedRefreshToken extends RefreshTokenFamily {
  rotatedAt: Date | null;
  expiresAt: Date;
  sessionRevokedAt: Date | null;
  sessionExpiresAt: Date;
}

export interface SessionTouch {
  ip: string | null;
  userAgent: string | null;
  expiresAt: Date;
}

/** Sessions (one per sign-in) and their refresh-token family. */
export class SessionsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Everything a sign-in writes, in one statement (one round trip, one commit): the user's
   * sign-in bookkeeping (failure count reset, lock lifted, last login, the re-hashed password
   * when the parameters changed), the session with its first refresh token, and the audit row.
   */
  async createAtSignIn(s: NewSession & { id: string }, signIn: { at: Date; rehash: string | null }, audit: NewAuditEvent): Promise<void> {
    const a = auditEventColumns(audit);
    await sql`
      with signed_in as (
        update users set failed_login_count = 0, locked_until = null, last_login_at = ${signIn.at}, last_active_at = ${signIn.at},
          password_hash = coalesce(${signIn.rehash}, password_hash)
        where id = ${s.userId}
      ), session as (
        insert into sessions (id, user_id, client_id, scope, ip, user_agent, expires_at)
        values (${s.id}, ${s.userId}, ${s.clientId}, ${s.scope}, ${s.ip}, ${s.userAgent}, ${s.expiresAt})
        returning id
      ), token as (
        insert into refresh_tokens (session_id, token_hash, expires_at)
        select id, ${s.refreshTokenHash}, ${s.expiresAt} from session
      ), audit as (
        insert into audit_events (event, actor_user_id, user_id, client_id, ip, user_agent, details)
        values (${a.event}, ${a.actor_user_id}, ${a.user_id}, ${a.client_id}, ${a.ip}, ${a.user_agent}, ${a.details})
      )
      select id from session${prepared('sign_in')}`.execute(this.db);
  }

  /**
   * Rotation in one atomic statement: marks the presented token used (only if it is unused,
   * unexpired and its session live), inserts its successor, touches the session and the user's
   * last_active_at (`touchedUser`: whether that moved). No row: the token was not claimable (unknown, expired, already rotated, or
   * its session revoked). Prepared on PostgreSQL: planning this statement cost more CPU than
   * running it.
   */
  async rotate(presentedHash: string, successorHash: string, touch: SessionTouch): Promise<RotatedRefreshToken | undefined> {
    const { rows } = await sql<RotatedRefreshToken>`
      with claimed as (
        update refresh_tokens rt set rotated_at = now()
        from sessions s
        where rt.token_hash = ${presentedHash} and rt.rotated_at is null and rt.expires_at > now()
          and s.id = rt.session_id and s.revoked_at is null
        returning rt.id as "tokenId", rt.session_id as "sessionId", s.user_id as "userId", s.scope, s.client_id as "clientId"
      ), successor as (
        insert into refresh_tokens (session_id, token_hash, parent_id, expires_at)
        select "sessionId", ${successorHash}, "tokenId", ${touch.expiresAt} from claimed
      ), touched as (
        update sessions set last_used_at = now(), expires_at = ${touch.expiresAt}, ip = coalesce(${touch.ip}, ip),
          user_agent = coalesce(${touch.userAgent}, user_agent)
        where id = (select "sessionId" from claimed)
      ), active as (
        -- Minute precision is all "last active" needs; it spares the user row a write (and a
        -- row lock shared by all of a person's sessions) on every rotation.
        update users set last_active_at = now() where id = (select "userId" from claimed)
          and (last_active_at is null or last_active_at < now() - interval '1 minute')
        returning id
      )
      select "tokenId", "sessionId", "userId", scope, "clientId", exists (select from active) as "touchedUser"
      from claimed${prepared('rotate_refresh_token')}`.execute(this.db);
    return rows[0];
  }

  /** A presented token whatever its state: the grace window and reuse detection read this. */
  async findPresented(hash: string): Promise<PresentedRefreshToken | undefined> {
    return this.db
      .selectFrom('refresh_tokens as rt')
      .innerJoin('sessions as s', 's.id', 'rt.session_id')
      .select([
        'rt.id as tokenId',
        'rt.session_id as sessionId',
        's.user_id as userId',
        's.scope as scope',
        's.client_id as clientId',
        'rt.rotated_at as rotatedAt',
        'rt.expires_at as expiresAt',
        's.revoked_at as sessionRevokedAt',
        's.expires_at as sessionExpiresAt',
      ])
      .where('rt.token_hash', '=', hash)
      .executeTakeFirst();
  }

  /** Another live token in the same family (the grace window's answer to a concurrent refresh). */
  async addSibling(parentTokenId: string, sessionId: string, hash: string, touch: SessionTouch): Promise<void> {
    await sql`
      with sibling as (
        insert into refresh_tokens (session_id, token_hash, parent_id, expires_at)
        values (${sessionId}, ${hash}, ${parentTokenId}, ${touch.expiresAt})
      )
      update sessions set last_used_at = now(), expires_at = greatest(expires_at, ${touch.expiresAt})
      where id = ${sessionId}`.execute(this.db);
  }

  findById(id: string): Promise<SessionRow | undefined> {
    return this.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Live sessions of a user, newest first. */
  listActive(userId: string): Promise<SessionRow[]> {
    return this.db
      .selectFrom('sessions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', new Date())
      .orderBy('created_at', 'desc')
      .execute();
  }

  /** Of these session ids, those still live (neither expired nor revoked, and still stored). */
  async liveAmong(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom('sessions')
      .select('id')
      .where('id', 'in', [...ids])
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', new Date())
      .execute();
    return rows.map((r) => r.id);
  }

  /** Revokes one session; returns it when it was live. */
  async revoke(id: string, reason: string, userId?: string): Promise<SessionRow | undefined> {
    let q = this.db.updateTable('sessions').set({ revoked_at: new Date(), revoked_reason: reason }).where('id', '=', id).where('revoked_at', 'is', null);
    if (userId) q = q.where('user_id', '=', userId);
    return q.returningAll().executeTakeFirst();
  }

  /** When a session was revoked (undefined when it is live or unknown, or not the user's). */
  async revokedAt(id: string, userId?: string): Promise<Date | undefined> {
    let q = this.db.selectFrom('sessions').select('revoked_at').where('id', '=', id).where('revoked_at', 'is not', null);
    if (userId) q = q.where('user_id', '=', userId);
    return (await q.executeTakeFirst())?.revoked_at ?? undefined;
  }

  /** Revokes every live session of a user (or of everyone), except one; returns them. */
  async revokeAll(reason: string, filter: { userId?: string; exceptSessionId?: string } = {}): Promise<{ id: string; user_id: string }[]> {
    let q = this.db.updateTable('sessions').set({ revoked_at: new Date(), revoked_reason: reason }).where('revoked_at', 'is', null);
    if (filter.userId) q = q.where('user_id', '=', filter.userId);
    if (filter.exceptSessionId) q = q.where('id', '!=', filter.exceptSessionId);
    return q.returning(['id', 'user_id']).execute();
  }

  /** Sessions revoked since `since`: replayed into a fresh key-value store at start-up. */
  async revokedSince(since: Date, userId?: string): Promise<{ id: string; revoked_at: Date }[]> {
    let q = this.db.selectFrom('sessions').select(['id', 'revoked_at']).where('revoked_at', '>', since);
    if (userId) q = q.where('user_id', '=', userId);
    const rows = await q.execute();
    return rows.map((r) => ({ id: r.id, revoked_at: r.revoked_at! }));
  }
}
