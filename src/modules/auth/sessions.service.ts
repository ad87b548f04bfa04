import { randomUUID } from 'node:crypto';
import type { Config } from '../../config/index.js';
import { AppError } from '../../errors/app-error.js';
import type { Metrics } from '../../metrics.js';
import type { SessionRow, SessionsRepository } from '../../repositories/sessions.repository.js';
import type { DomainEvents } from '../events/domain-events.js';
import type { AccessTokens } from './access-tokens.js';
import type { RequestContext, SecurityAudit } from './audit.js';
import { hashOpaqueToken, looksLikeOpaqueToken, newOpaqueToken } from './opaque-tokens.js';
import type { RevocationList } from './revocation.js';

export type Grant = 'password' | 'refresh_token' | 'client_credentials';

/** What a sign-in or a refresh hands the client. */
export interface TokenPair {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  scope: string;
  session_id: string;
}

export interface SessionView {
  id: string;
  created_at: string;
  last_used_at: string;
  ip: string | null;
  user_agent: string | null;
  current: boolean;
}

/**
 * Sessions and their tokens: a session is one sign-in; its refresh tokens rotate on every use.
 * A rotated token presented again revokes the whole session (reuse detection), except within
 * REFRESH_REUSE_INTERVAL_SECONDS, when it gets a sibling token in the same family, so two tabs
 * refreshing at the same moment don't sign the person out.
 */
export class SessionsService {
  constructor(
    private readonly config: Readonly<Config>,
    private readonly sessions: SessionsRepository,
    private readonly tokens: AccessTokens,
    private readonly revocation: RevocationList,
    private readonly audit: SecurityAudit,
    private readonly metrics: Metrics,
    private readonly events: DomainEvents | null,
  ) {}

  private readonly activityListeners: ((userId: string) => Promise<void>)[] = [];

  /**
   * `listener` is told, after the write, of every user whose last_login_at or last_active_at a
   * sign-in or a refresh has moved: a cache that shows those times (the cached profile) drops
   * its copy before the answer goes out, instead of showing the old times until it expires.
   * A listener handles its own failures (the sign-in has happened; the copy expires anyway).
   */
  onUserActivity(listener: (userId: string) => Promise<void>): void {
    this.activityListeners.push(listener);
  }

  /** A write has moved the user's sign-in or activity time (sign-in.service.ts calls it too). */
  async userActive(userId: string): Promise<void> {
    await Promise.all(this.activityListeners.map((listener) => listener(userId)));
  }

  /** The realtime channel tells the session's clients at once (sockets close; the web app signs out). */
  private async announce(sessions: { id: string; user_id: string }[]): Promise<void> {
    if (!this.events) return;
    await Promise.all(sessions.map((s) => this.events!.publish({ type: 'session.revoked', userId: s.user_id, sessionId: s.id, data: { session_id: s.id } })));
  }

  private refreshExpiry(): Date {
    return new Date(Date.now() + this.config.auth.refreshTokenDays * 86_400_000);
  }

  private async pair(userId: string, sessionId: string, scope: string, clientId: string | null, refreshToken: string, grant: Grant): Promise<TokenPair> {
    const access = await this.tokens.issue({
      subject: userId,
      sessionId,
      scope,
      clientId,
      lifetimeSeconds: this.config.auth.accessTokenMinutes * 60,
    });
    this.metrics.tokensIssued.inc({ grant });
    return { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn, refresh_token: refreshToken, scope, session_id: sessionId };
  }

  /**
   * A new session for a user who just proved who they are with their password. One statement
   * writes the session, its first refresh token, the user's sign-in bookkeeping (`rehash`: the
   * password re-hashed with the current parameters, if they changed) and the `login.succeeded`
   * audit row; the session id is made here so the audit row can name it.
   */
  async start(userId: string, scope: string, clientId: string | null, context: RequestContext, rehash: string | null): Promise<TokenPair> {
    const refreshToken = newOpaqueToken();
    const sessionId = randomUUID();
    const event = { userId, clientId, details: { session_id: sessionId } };
    await this.sessions.createAtSignIn(
      {
        id: sessionId,
        userId,
        clientId,
        scope,
        ip: context.ip,
        userAgent: context.userAgent?.slice(0, 512) ?? null,
        refreshTokenHash: hashOpaqueToken(refreshToken),
        expiresAt: this.refreshExpiry(),
      },
      { at: new Date(), rehash },
      this.audit.entry('login.succeeded', event, context),
    );
    const dropped = this.userActive(userId);
    this.audit.log('login.succeeded', event, context);
    const pair = await this.pair(userId, sessionId, scope, clientId, refreshToken, 'password');
    await dropped;
    return pair;
  }

  /**
   * Rotates a refresh token. `clientId`: the authenticated OAuth client, when there is one; a
   * token issued to a client only refreshes for that client (RFC 6749 §6).
   */
  async refresh(refreshToken: string, context: RequestContext, clientId: string | null = null, grant: Grant = 'refresh_token'): Promise<TokenPair> {
    if (!looksLikeOpaqueToken(refreshToken)) throw new AppError('invalid_refresh_token');
    const presentedHash = hashOpaqueToken(refreshToken);
    const successor = newOpaqueToken();
    const touch = { ip: context.ip, userAgent: context.userAgent?.slice(0, 512) ?? null, expiresAt: this.refreshExpiry() };
    const rotated = await this.sessions.rotate(presentedHash, hashOpaqueToken(successor), touch);
    if (rotated) {
      if (rotated.touchedUser) await this.userActive(rotated.userId);
      if (rotated.clientId !== null && rotated.clientId !== clientId) {
        // Issued to a confidential client and presented by someone else: refuse (it is already rotated, so the family is spent).
        await this.revoke(rotated.sessionId, 'refresh_token_client_mismatch');
        throw new AppError('invalid_refresh_token');
      }
      return this.pair(rotated.userId, rotated.sessionId, rotated.scope, rotated.clientId, successor, grant);
    }

    const presented = await this.sessions.findPresented(presentedHash);
    const now = Date.now();
    if (!presented || presented.sessionRevokedAt !== null || presented.expiresAt.getTime() <= now || presented.sessionExpiresAt.getTime() <= now) {
      throw new AppError('invalid_refresh_token');
    }
    if (presented.rotatedAt === null) throw new AppError('invalid_refresh_token'); // lost a race with an expiry or revocation
    const graceMs = this.config.auth.refreshReuseIntervalSeconds * 1000;
    if (now - presented.rotatedAt.getTime() <= graceMs && (presented.clientId === null || presented.clientId === clientId)) {
      // Within the grace window: a sibling in the same family, so concurrent tabs both stay signed in.
      const sibling = newOpaqueToken();
      await this.sessions.addSibling(presented.tokenId, presented.sessionId, hashOpaqueToken(sibling), touch);
      return this.pair(presented.userId, presented.sessionId, presented.scope, presented.clientId, sibling, grant);
    }
    // Reuse of a rotated token: someone holds a copy. Sign the whole family out.
    await this.revoke(presented.sessionId, 'refresh_token_reuse');
    await this.audit.record(
      'refresh_token.reused',
      { userId: presented.userId, clientId: presented.clientId, details: { session_id: presented.sessionId, rotated_ago_ms: now - presented.rotatedAt.getTime() } },
      context,
    );
    throw new AppError('token_reused');
  }

  /** Revokes one session: the database, then the key-value entry every instance checks. */
  async revoke(sessionId: string, reason: string, userId?: string): Promise<SessionRow | undefined> {
    const row = await this.sessions.revoke(sessionId, reason, userId);
    if (row) {
      await this.revocation.revokeSessions([row.id]);
      await this.announce([row]);
      return row;
    }
    // Already revoked, perhaps by an attempt whose key-value write failed (answered 503):
    // write the entry again, so a retry always ends with the session refused everywhere.
    const revokedAt = await this.sessions.revokedAt(sessionId, userId);
    if (revokedAt) await this.revocation.revokeSessions([sessionId], revokedAt.getTime());
    return undefined;
  }

  /** Revokes every session of a user (or, without one, of everyone); returns how many. */
  async revokeAll(reason: string, filter: { userId?: string; exceptSessionId?: string }): Promise<number> {
    const revoked = await this.sessions.revokeAll(reason, filter);
    await this.revocation.revokeSessions(revoked.map((s) => s.id));
    if (filter.userId) {
      // Sessions an earlier, failed attempt revoked in the database only: their entries again.
      const earlier = await this.sessions.revokedSince(new Date(Date.now() - this.revocation.windowMs), filter.userId);
      const fresh = new Set(revoked.map((s) => s.id));
      await Promise.all(earlier.filter((s) => !fresh.has(s.id)).map((s) => this.revocation.revokeSessions([s.id], s.revoked_at.getTime())));
    }
    await this.announce(revoked);
    return revoked.length;
  }

  /** The session a refresh token belongs to, if the token is known (logout by refresh token). */
  async sessionOfRefreshToken(refreshToken: string): Promise<{ sessionId: string; userId: string } | null> {
    if (!looksLikeOpaqueToken(refreshToken)) return null;
    const presented = await this.sessions.findPresented(hashOpaqueToken(refreshToken));
    return presented ? { sessionId: presented.sessionId, userId: presented.userId } : null;
  }

  /** Of these session ids, those still live (the realtime hub's check of its sockets' sessions). */
  liveAmong(sessionIds: readonly string[]): Promise<string[]> {
    return this.sessions.liveAmong(sessionIds);
  }

  async list(userId: string, currentSessionId: string | null): Promise<SessionView[]> {
    const rows = await this.sessions.listActive(userId);
    return rows.map((s) => ({
      id: s.id,
      created_at: s.created_at.toISOString(),
      last_used_at: s.last_used_at.toISOString(),
      ip: s.ip,
      user_agent: s.user_agent,
      current: s.id === currentSessionId,
    }));
  }

  /** Signs one of the user's own sessions out; someone else's is "not found". */
  async revokeOwn(userId: string, sessionId: string, context: RequestContext): Promise<void> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(sessionId)) throw new AppError('session_not_found');
    const row = await this.revoke(sessionId, 'signed_out', userId);
    if (!row) throw new AppError('session_not_found');
    await this.audit.record('session.revoked', { userId, details: { session_id: sessionId } }, context);
  }

  /** Start-up: a fresh in-memory key-value store learns the revocations still within a token's lifetime. */
  async replayRecentRevocations(since: Date): Promise<void> {
    const rows = await this.sessions.revokedSince(since);
    // Together: on Redis each write answers once every instance has it (near-cache.ts), so one
    // at a time would take that wait per entry.
    await Promise.all(rows.map((r) => this.revocation.revokeSessions([r.id], r.revoked_at.getTime())));
  }
}
