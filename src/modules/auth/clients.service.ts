import { randomBytes } from 'node:crypto';
import { AppError } from '../../errors/app-error.js';
import type { OAuthClientRow, OAuthClientsRepository } from '../../repositories/oauth-clients.repository.js';
import type { RequestContext, SecurityAudit } from './audit.js';
import { hashOpaqueToken, newOpaqueToken } from './opaque-tokens.js';
import type { RevocationList } from './revocation.js';
import { hasControlCharacter } from '../../text/characters.js';

export interface ClientView {
  client_id: string;
  name: string;
  scopes: string[];
  created_at: string;
}

export interface CreatedClient extends ClientView {
  /** shown once, here; only its hash is stored */
  client_secret: string;
}

// RFC 6749 scope-token: printable ASCII without space, quote or backslash.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/;

export function toClientView(row: OAuthClientRow): ClientView {
  return { client_id: row.client_id, name: row.name, scopes: row.scopes.split(' ').filter(Boolean), created_at: row.created_at.toISOString() };
}

/** OAuth clients (other services): created by admins, secret shown once, deleted with their tokens. */
export class ClientsService {
  constructor(
    private readonly clients: OAuthClientsRepository,
    private readonly revocation: RevocationList,
    private readonly audit: SecurityAudit,
  ) {}

  async create(input: { name: string; scopes: string[] }, actorUserId: string | null, context: RequestContext): Promise<CreatedClient> {
    const name = input.name.trim();
    if (!name) throw new AppError('validation_failed', { errors: [{ field: 'name', message: 'must not be empty' }] });
    // It is shown in lists and logs, and PostgreSQL cannot store a NUL.
    if (hasControlCharacter(name)) throw new AppError('validation_failed', { errors: [{ field: 'name', message: 'must not contain control characters' }] });
    const scopes = [...new Set(input.scopes.map((s) => s.trim()).filter(Boolean))];
    const bad = scopes.filter((s) => !SCOPE_TOKEN.test(s));
    if (bad.length) throw new AppError('validation_failed', { errors: [{ field: 'scopes', message: `not valid OAuth scope names: ${bad.join(', ')}` }] });
    const clientId = `tsc_${randomBytes(12).toString('base64url')}`;
    const secret = newOpaqueToken();
    const row = await this.clients.insert({ clientId, name, secretHash: hashOpaqueToken(secret), scopes });
    await this.audit.record('admin.client_created', { actorUserId, clientId, details: { name, scopes } }, context);
    return { ...toClientView(row), client_secret: secret };
  }

  async list(): Promise<ClientView[]> {
    return (await this.clients.listActive()).map(toClientView);
  }

  /** Deletes the client; its service tokens stop working at once. */
  async delete(clientId: string, actorUserId: string | null, context: RequestContext): Promise<void> {
    if (!(await this.clients.revoke(clientId))) throw new AppError('client_not_found');
    await this.revocation.revokeClient(clientId);
    await this.audit.record('admin.client_deleted', { actorUserId, clientId }, context);
  }

  /** Deleted clients and revoked service tokens, back into the key-value store. */
  async replayRecentRevocations(since: Date): Promise<void> {
    const [clients, tokens] = await Promise.all([this.clients.revokedSince(since), this.clients.serviceTokensRevokedSince(since)]);
    await Promise.all([...clients.map((clientId) => this.revocation.revokeClient(clientId)), this.revocation.revokeSessions(tokens)]);
  }
}
