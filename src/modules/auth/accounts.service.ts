import { randomUUID } from 'node:crypto';
import type { KeyValueStore } from '../../adapters/kv/kv-store.js';
import type { Config } from '../../config/index.js';
import { AppError, type FieldError } from '../../errors/app-error.js';
import type { EmailTokenPurpose, EmailTokensRepository } from '../../repositories/email-tokens.repository.js';
import type { UserRow, UsersRepository } from '../../repositories/users.repository.js';
import { checkedDisplayName } from '../profiles/sanitize.js';
import type { RequestContext, SecurityAudit } from './audit.js';
import { RESET_LINK_MINUTES, VERIFY_LINK_HOURS, type AuthMail } from './auth-mail.js';
import type { Principal } from './authenticator.js';
import { isPlausibleEmail, normaliseEmail } from './email-address.js';
import { hashOpaqueToken, looksLikeOpaqueToken, newOpaqueToken } from './opaque-tokens.js';
import { checkPassword, describePasswordProblem } from './password-policy.js';
import type { PasswordHasher } from './passwords.js';
import type { SessionsService } from './sessions.service.js';
import type { UserCache } from './user-cache.js';
import { toUserView, type UserView } from './user-view.js';

// One e-mail of a kind per address per minute: the endpoints cannot be used to flood a mailbox.
const MAIL_THROTTLE_MS = 60_000;

/** Registration, e-mail verification, password change and reset: the account's own rules. */
export class AccountsService {
  constructor(
    private readonly config: Readonly<Config>,
    private readonly users: UsersRepository,
    private readonly emailTokens: EmailTokensRepository,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionsService,
    private readonly audit: SecurityAudit,
    private readonly mail: AuthMail,
    private readonly userCache: UserCache,
    private readonly kv: KeyValueStore,
  ) {}

  /** The password policy as 422 field errors. */
  assertPasswordAllowed(password: string, email: string | null, field: string): void {
    const problems = checkPassword(password, this.config.password, email);
    if (problems.length === 0) return;
    const errors: FieldError[] = problems.map((p) => ({ field, message: describePasswordProblem(p, this.config.password) }));
    throw new AppError('password_policy', { errors, extra: { reasons: problems } });
  }

  normaliseEmailOrThrow(input: string): string {
    const email = normaliseEmail(input);
    if (!isPlausibleEmail(email)) throw new AppError('validation_failed', { errors: [{ field: 'email', message: 'is not a valid e-mail address' }] });
    return email;
  }

  async register(input: { email: string; password: string; display_name?: string | null | undefined }, context: RequestContext): Promise<UserView> {
    const email = this.normaliseEmailOrThrow(input.email);
    // The profile's own rules (SPEC "Profiles"): neutralised on the way in, counted in characters.
    // Left blank (absent, null or only spaces), the account simply has no name yet.
    const nameErrors: FieldError[] = [];
    const given = input.display_name?.trim() ? input.display_name : null;
    const displayName = checkedDisplayName(given, this.config.profiles.maxDisplayNameLength, nameErrors);
    if (nameErrors.length) throw new AppError('validation_failed', { errors: nameErrors });
    this.assertPasswordAllowed(input.password, email, 'password');
    const passwordHash = await this.hasher.hash(input.password);
    let user: UserRow;
    try {
      user = await this.users.insert({ email, displayName, passwordHash });
    } catch (err) {
      if (err instanceof AppError && err.code === 'email_taken' && this.config.auth.registrationEnumerationSafe) {
        // REGISTRATION_ENUMERATION_SAFE: the same 201 a new account gets (after the same hashing time).
        return { id: randomUUID(), email, email_verified: false, display_name: displayName, role: 'user', created_at: new Date().toISOString() };
      }
      throw err;
    }
    await this.audit.record('user.registered', { userId: user.id }, context);
    await this.sendVerification(user);
    return toUserView(user);
  }

  async currentUser(principal: Principal): Promise<UserView> {
    if (principal.kind !== 'user') throw new AppError('forbidden', { detail: 'This needs a user token, not a service token' });
    if (principal.cachedUser) return principal.cachedUser;
    const row = await this.users.findById(principal.userId);
    if (!row) throw new AppError('invalid_token', { detail: 'The account no longer exists' });
    const view = toUserView(row);
    await this.userCache.set(view);
    return view;
  }

  // ── e-mail verification ────────────────────────────────────────────────

  private async newLink(user: UserRow, purpose: EmailTokenPurpose, lifetimeMs: number): Promise<string> {
    const token = newOpaqueToken();
    await this.emailTokens.create(user.id, purpose, hashOpaqueToken(token), user.email, new Date(Date.now() + lifetimeMs));
    return token;
  }

  private async sendVerification(user: UserRow): Promise<void> {
    const token = await this.newLink(user, 'verify_email', VERIFY_LINK_HOURS * 3_600_000);
    this.mail.verification(user, token);
  }

  async verifyEmail(token: string, context: RequestContext): Promise<UserView> {
    const used = looksLikeOpaqueToken(token) ? await this.emailTokens.consume(hashOpaqueToken(token), 'verify_email') : undefined;
    if (!used) throw new AppError('email_link_invalid');
    const user = await this.users.markEmailVerified(used.user_id, used.email);
    if (!user) throw new AppError('email_link_invalid', { detail: 'The address this link was sent to is no longer the account address' });
    await this.userCache.invalidate(user.id);
    await this.audit.record('email.verified', { userId: user.id }, context);
    return toUserView(user);
  }

  /**
   * A new verification e-mail: for the signed-in user, or (when sign-in waits for verification)
   * for an address, answering the same whether or not it has an account.
   */
  async resendVerification(target: { principal: Principal } | { email: string }): Promise<void> {
    let user: UserRow | undefined;
    if ('principal' in target) {
      if (target.principal.kind !== 'user') throw new AppError('forbidden', { detail: 'This needs a user token' });
      user = await this.users.findById(target.principal.userId);
      if (!user) throw new AppError('invalid_token');
      if (user.email_verified_at) throw new AppError('email_already_verified');
    } else {
      const email = normaliseEmail(target.email);
      user = isPlausibleEmail(email) ? await this.users.findByEmail(email) : undefined;
      if (!user || user.email_verified_at) return;
    }
    if (!(await this.kv.setIfAbsent(`mail-throttle:verify:${user.id}`, '1', MAIL_THROTTLE_MS))) {
      if ('principal' in target) throw new AppError('rate_limited', { detail: 'A verification e-mail was sent less than a minute ago', headers: { 'retry-after': '60' } });
      return;
    }
    await this.sendVerification(user);
  }

  // ── passwords ──────────────────────────────────────────────────────────

  /** Always "accepted": whether the address has an account is never revealed. */
  async forgotPassword(emailInput: string, context: RequestContext): Promise<void> {
    const email = normaliseEmail(emailInput);
    if (!isPlausibleEmail(email)) return;
    const user = await this.users.findByEmail(email);
    if (!user) return;
    if (!(await this.kv.setIfAbsent(`mail-throttle:reset:${user.id}`, '1', MAIL_THROTTLE_MS))) return;
    const token = await this.newLink(user, 'password_reset', RESET_LINK_MINUTES * 60_000);
    this.mail.reset(user, token);
    await this.audit.record('password.reset_requested', { userId: user.id }, context);
  }

  async resetPassword(token: string, newPassword: string, context: RequestContext): Promise<void> {
    const tokenHash = looksLikeOpaqueToken(token) ? hashOpaqueToken(token) : null;
    const link = tokenHash ? await this.emailTokens.findUsable(tokenHash, 'password_reset') : undefined;
    if (!tokenHash || !link) throw new AppError('email_link_invalid');
    const user = await this.users.findById(link.user_id);
    if (!user || user.email !== link.email) throw new AppError('email_link_invalid');
    // Policy first, so a refused password does not use the link up.
    await this.assertNewPassword(user, newPassword, 'new_password');
    const passwordHash = await this.hasher.hash(newPassword);
    if (!(await this.emailTokens.consume(tokenHash, 'password_reset'))) throw new AppError('email_link_invalid');
    // The link proves the mailbox: the address counts as verified, and a lockout ends.
    const updated = await this.users.setPassword(user.id, passwordHash, this.config.password.preventReuseCount, { verifyEmail: link.email });
    await this.sessions.revokeAll('password_reset', { userId: user.id });
    await this.userCache.invalidate(user.id);
    this.mail.passwordChanged(updated, context.ip);
    await this.audit.record('password.reset', { userId: user.id }, context);
  }

  /** Changes the password and signs every other session out. */
  async changePassword(principal: Principal, currentPassword: string, newPassword: string, context: RequestContext): Promise<void> {
    if (principal.kind !== 'user') throw new AppError('forbidden', { detail: 'This needs a user token' });
    const user = await this.users.findById(principal.userId);
    if (!user) throw new AppError('invalid_token');
    if (!(await this.hasher.verify(user.password_hash, currentPassword))) throw new AppError('current_password_incorrect');
    await this.assertNewPassword(user, newPassword, 'new_password');
    const passwordHash = await this.hasher.hash(newPassword);
    const updated = await this.users.setPassword(user.id, passwordHash, this.config.password.preventReuseCount);
    const ended = await this.sessions.revokeAll('password_changed', { userId: user.id, exceptSessionId: principal.sessionId });
    this.mail.passwordChanged(updated, context.ip);
    await this.audit.record('password.changed', { userId: user.id, details: { other_sessions_ended: ended } }, context);
  }

  /** Policy plus PASSWORD_PREVENT_REUSE_COUNT: not one of the last N passwords. */
  private async assertNewPassword(user: UserRow, password: string, field: string): Promise<void> {
    this.assertPasswordAllowed(password, user.email, field);
    const recent = await this.users.recentPasswordHashes(user.id, this.config.password.preventReuseCount);
    const reused = await Promise.all(recent.map((h) => this.hasher.verify(h, password)));
    if (reused.some(Boolean)) {
      throw new AppError('password_policy', {
        errors: [{ field, message: `must differ from your last ${this.config.password.preventReuseCount} passwords` }],
        extra: { reasons: ['reused'] },
      });
    }
  }
}
