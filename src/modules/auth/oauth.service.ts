import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { Config } from '../../config/index.js';
import type { Metrics } from '../../metrics.js';
import type { OAuthClientRow, OAuthClientsRepository } from '../../repositories/oauth-clients.repository.js';
import type { SessionsRepository } from '../../repositories/sessions.repository.js';
import type { AccessTokens } from './access-tokens.js';
import type { RequestContext, SecurityAudit } from './audit.js';
import { isServiceToken } from './authenticator.js';
import { hashOpaqueToken, looksLikeOpaqueToken } from './opaque-tokens.js';
import type { RevocationList } from './revocation.js';
import type { SessionsService } from './sessions.service.js';

/** What a client_id may be (RFC 6749 Appendix A.1: VSCHARs), up to a length no real one reaches. */
const CLIENT_ID = /^[\x20-\x7e]{1,200}$/;

/** An RFC 6749 §5.2 error: the OAuth endpoints answer these instead of problem+json. */
export class OAuthError extends Error {
  constructor(
    readonly error: 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope' | 'unsupported_token_type',
    readonly description: string,
    readonly status = error === 'invalid_client' ? 401 : 400,
  ) {
    super(description);
  }
}

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

export interface ServiceToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

/** RFC 7662 answer. */
export type Introspection = { active: false } | ({ active: true } & Record<string, unknown>);

/**
 * The OAuth 2.0 machinery that is not about people: client authentication, the
 * client_credentials grant (service tokens), RFC 7662 introspection and RFC 7009 revocation.
 */
export class OAuthService {
  constructor(
    private readonly config: Readonly<Config>,
    private readonly clients: OAuthClientsRepository,
    private readonly sessionsRepo: SessionsRepository,
    private readonly sessions: SessionsService,
    private readonly tokens: AccessTokens,
    private readonly revocation: RevocationList,
    private readonly audit: SecurityAudit,
    private readonly metrics: Metrics,
  ) {}

  /** The client, if the secret is right; one answer for unknown client and wrong secret. */
  async authenticateClient(credentials: ClientCredentials, context: RequestContext): Promise<OAuthClientRow> {
    // RFC 6749 Appendix A.1: a client_id is VSCHARs (%x20-7E); anything else names no client,
    // and is written to the audit log escaped (a NUL cannot be stored).
    const wellFormed = CLIENT_ID.test(credentials.clientId);
    const client = wellFormed ? await this.clients.findActive(credentials.clientId) : undefined;
    // Secrets are 256-bit random, so SHA-256 (not a slow hash) is the right tool; compared in constant time.
    const given = Buffer.from(hashOpaqueToken(credentials.clientSecret), 'hex');
    const stored = Buffer.from(client?.secret_hash ?? '0'.repeat(64), 'hex');
    if (!client || given.length !== stored.length || !timingSafeEqual(given, stored)) {
      const shown = credentials.clientId.slice(0, 200);
      await this.audit.record('client_credentials.failed', { clientId: wellFormed ? shown : JSON.stringify(shown).slice(1, -1) }, context);
      throw new OAuthError('invalid_client', 'Client authentication failed');
    }
    return client;
  }

  /** client_credentials: a service token carrying (a subset of) the client's scopes. */
  async clientCredentials(client: OAuthClientRow, requested: string[] | null): Promise<ServiceToken> {
    const allowed = client.scopes.split(' ').filter(Boolean);
    const scope = requested?.length ? requested : allowed;
    const refused = scope.filter((s) => !allowed.includes(s));
    if (refused.length) throw new OAuthError('invalid_scope', `This client may not request: ${refused.join(' ')}`);
    const issued = await this.tokens.issue({
      subject: client.client_id,
      clientId: client.client_id,
      // Each service token is its own "session": RFC 7009 revocation of one token is one key-value entry.
      sessionId: randomUUID(),
      scope: scope.join(' '),
      lifetimeSeconds: this.config.auth.serviceTokenMinutes * 60,
    });
    this.metrics.tokensIssued.inc({ grant: 'client_credentials' });
    return { access_token: issued.token, token_type: 'Bearer', expires_in: issued.expiresIn, scope: scope.join(' ') };
  }

  async introspect(token: string): Promise<Introspection> {
    if (looksLikeOpaqueToken(token)) return this.introspectRefreshToken(token);
    const claims = await this.tokens.verify(token);
    if (!claims || (await this.revocation.isRevoked(claims))) return { active: false };
    const service = isServiceToken(claims);
    return {
      active: true,
      token_type: 'Bearer',
      scope: claims.scope,
      client_id: claims.client_id ?? undefined,
      sub: claims.sub,
      sid: service ? undefined : claims.sid,
      exp: claims.exp,
      iat: claims.iat,
      iss: this.config.auth.issuer,
      aud: this.config.auth.audience,
      jti: claims.jti,
    };
  }

  private async introspectRefreshToken(token: string): Promise<Introspection> {
    const found = await this.sessionsRepo.findPresented(hashOpaqueToken(token));
    const now = Date.now();
    if (!found || found.rotatedAt !== null || found.sessionRevokedAt !== null || found.expiresAt.getTime() <= now) return { active: false };
    return {
      active: true,
      token_type: 'refresh_token',
      scope: found.scope,
      client_id: found.clientId ?? undefined,
      sub: found.userId,
      sid: found.sessionId,
      exp: Math.floor(found.expiresAt.getTime() / 1000),
      iss: this.config.auth.issuer,
    };
  }

  /**
   * RFC 7009: revoke an access or refresh token. Unknown, invalid and foreign tokens are
   * answered the same (200), so the endpoint tells nothing. An authenticated client may revoke
   * only what was issued to it; without client authentication, only tokens issued to no client.
   */
  async revoke(token: string, client: OAuthClientRow | null, context: RequestContext): Promise<void> {
    const clientId = client?.client_id ?? null;
    if (looksLikeOpaqueToken(token)) {
      const found = await this.sessions.sessionOfRefreshToken(token);
      if (!found) return;
      const session = await this.sessionsRepo.findById(found.sessionId);
      if (!session || session.client_id !== clientId) return;
      const revoked = await this.sessions.revoke(found.sessionId, 'token_revoked');
      if (revoked) await this.audit.record('session.revoked', { userId: found.userId, clientId, details: { session_id: found.sessionId, via: 'revocation_endpoint' } }, context);
      return;
    }
    const claims = await this.tokens.verify(token);
    if (!claims || (claims.client_id ?? null) !== clientId) return;
    if (isServiceToken(claims)) {
      // Kept in the database too (a service token has no session row), so a store that restarts
      // empty gets it back with the rest of the revocation list.
      await this.clients.revokeServiceToken(claims.sid, claims.sub, new Date(claims.exp * 1000));
      await this.revocation.revokeSessions([claims.sid]);
      await this.audit.record('service_token.revoked', { clientId, details: { token_id: claims.sid, via: 'revocation_endpoint' } }, context);
      return;
    }
    // A user's access token: RFC 7009 lets the server end the whole grant; its session goes.
    const revoked = await this.sessions.revoke(claims.sid, 'token_revoked');
    if (revoked) await this.audit.record('session.revoked', { userId: claims.sub, clientId, details: { session_id: claims.sid, via: 'revocation_endpoint' } }, context);
  }
}
