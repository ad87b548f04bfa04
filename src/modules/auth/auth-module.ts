import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { KeyValueStore } from '../../adapters/kv/kv-store.js';
import type { Mailer } from '../../adapters/mailer/mailer.js';
import type { Config } from '../../config/index.js';
import type { Database } from '../../db/types.js';
import type { Metrics } from '../../metrics.js';
import type { DomainEvents } from '../events/domain-events.js';
import { AuditEventsRepository } from '../../repositories/audit-events.repository.js';
import { EmailTokensRepository } from '../../repositories/email-tokens.repository.js';
import { OAuthClientsRepository } from '../../repositories/oauth-clients.repository.js';
import { SessionsRepository } from '../../repositories/sessions.repository.js';
import { SigningKeysRepository } from '../../repositories/signing-keys.repository.js';
import { UsersRepository } from '../../repositories/users.repository.js';
import { AccessTokens } from './access-tokens.js';
import { AccountsService } from './accounts.service.js';
import { AdminService } from './admin.service.js';
import { SecurityAudit } from './audit.js';
import { AuthMail } from './auth-mail.js';
import { Authenticator } from './authenticator.js';
import { ClientsService } from './clients.service.js';
import { OAuthService } from './oauth.service.js';
import { PasswordHasher } from './passwords.js';
import { RevocationList } from './revocation.js';
import { SessionsService } from './sessions.service.js';
import { SignInService } from './sign-in.service.js';
import { retiredKeyGraceMs, SigningKeyRing } from './signing-keys.js';
import { UserCache } from './user-cache.js';

export interface AuthDependencies {
  config: Readonly<Config>;
  logger: Logger;
  metrics: Metrics;
  db: Kysely<Database>;
  kv: KeyValueStore;
  mailer: Mailer;
  /** publishes `session.revoked` on the realtime channel (optional: a module built without it just doesn't) */
  events?: DomainEvents;
}

/** Every auth repository and service, wired once (the container holds the result). */
export function createAuthModule(deps: AuthDependencies) {
  const { config, metrics, db, kv } = deps;
  const logger = deps.logger.child({ component: 'auth' });
  const users = new UsersRepository(db);
  const sessionsRepo = new SessionsRepository(db);
  const clientsRepo = new OAuthClientsRepository(db);
  const auditRepo = new AuditEventsRepository(db);

  const keys = new SigningKeyRing(config.auth, new SigningKeysRepository(db), logger);
  const tokens = new AccessTokens(config.auth, keys);
  const revocation = new RevocationList(kv, config.auth);
  const userCache = new UserCache(kv);
  const hasher = new PasswordHasher(config.auth.argon2);
  const audit = new SecurityAudit(auditRepo, logger);
  const mail = new AuthMail(deps.mailer, config, logger);

  const authenticator = new Authenticator(tokens, revocation, kv, userCache);
  const sessions = new SessionsService(config, sessionsRepo, tokens, revocation, audit, metrics, deps.events ?? null);
  const signIn = new SignInService(config, users, hasher, sessions, audit, mail, metrics);
  const accounts = new AccountsService(config, users, new EmailTokensRepository(db), hasher, sessions, audit, mail, userCache, kv);
  const oauth = new OAuthService(config, clientsRepo, sessionsRepo, sessions, tokens, revocation, audit, metrics);
  const clients = new ClientsService(clientsRepo, revocation, audit);
  const admin = new AdminService(users, sessions, accounts, hasher, userCache, audit);

  let unsubscribe: (() => Promise<void>) | null = null;

  return {
    keys,
    tokens,
    hasher,
    authenticator,
    accounts,
    signIn,
    sessions,
    oauth,
    clients,
    admin,
    audit,
    mail,
    userCache,
    auditEvents: auditRepo,

    /**
     * Before serving: load (or create) the signing key, so a key that cannot be decrypted stops
     * start-up; replay recent revocations into a key-value store that may have just started
     * empty (the embedded, in-memory one); follow key rotations made by other instances.
     */
    async start(): Promise<void> {
      await keys.reload();
      await hasher.verifyDummy(''); // the dummy hash exists before the first unknown e-mail arrives
      revocation.setReplay(async () => {
        const since = new Date(Date.now() - retiredKeyGraceMs(config.auth));
        await sessions.replayRecentRevocations(since);
        await clients.replayRecentRevocations(since);
      });
      await revocation.reload();
      unsubscribe = await kv.subscribe(SIGNING_KEYS_CHANNEL, () => {
        keys.reload().catch((err: unknown) => logger.error({ err }, 'signing keys could not be reloaded'));
      });
    },

    /** `keys rotate`: a new active key, announced to every running instance. */
    async rotateKeys(): Promise<string> {
      const kid = await keys.rotate();
      await kv.publish(SIGNING_KEYS_CHANNEL, kid);
      await audit.record('keys.rotated', { details: { kid } }, { ip: null, userAgent: null });
      return kid;
    },

    async close(): Promise<void> {
      await unsubscribe?.();
      await mail.drain();
      await hasher.close();
    },
  };
}

const SIGNING_KEYS_CHANNEL = 'signing-keys';

export type AuthModule = ReturnType<typeof createAuthModule>;
