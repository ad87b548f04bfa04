import type { Kysely, Selectable } from 'kysely';
import type { Database, OAuthClientsTable } from '../db/types.js';

export type OAuthClientRow = Selectable<OAuthClientsTable>;

export class OAuthClientsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  insert(client: { clientId: string; name: string; secretHash: string; scopes: string[] }): Promise<OAuthClientRow> {
    return this.db
      .insertInto('oauth_clients')
      .values({ client_id: client.clientId, name: client.name, secret_hash: client.secretHash, scopes: client.scopes.join(' ') })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** A client that may still authenticate (not deleted). */
  findActive(clientId: string): Promise<OAuthClientRow | undefined> {
    return this.db.selectFrom('oauth_clients').selectAll().where('client_id', '=', clientId).where('revoked_at', 'is', null).executeTakeFirst();
  }

  listActive(): Promise<OAuthClientRow[]> {
    return this.db.selectFrom('oauth_clients').selectAll().where('revoked_at', 'is', null).orderBy('created_at', 'desc').execute();
  }

  /** Soft delete: the row stays so start-up can replay recent revocations. */
  async revoke(clientId: string): Promise<boolean> {
    const r = await this.db.updateTable('oauth_clients').set({ revoked_at: new Date() }).where('client_id', '=', clientId).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async revokedSince(since: Date): Promise<string[]> {
    const rows = await this.db.selectFrom('oauth_clients').select('client_id').where('revoked_at', '>', since).execute();
    return rows.map((r) => r.client_id);
  }

  /** Keeps a service token's revocation (RFC 7009) until the token expires (retention drops it after). */
  async revokeServiceToken(tokenId: string, clientId: string, expiresAt: Date): Promise<void> {
    await this.db
      .insertInto('service_token_revocations')
      .values({ token_id: tokenId, client_id: clientId, expires_at: expiresAt })
      .onConflict((oc) => oc.column('token_id').doNothing())
      .execute();
  }

  /** Ids (`sid`) of the service tokens revoked since then that have not expired yet. */
  async serviceTokensRevokedSince(since: Date): Promise<string[]> {
    const rows = await this.db
      .selectFrom('service_token_revocations')
      .select('token_id')
      .where('revoked_at', '>', since)
      .where('expires_at', '>', new Date())
      .execute();
    return rows.map((r) => r.token_id);
  }
}
