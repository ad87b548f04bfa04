import type { Config } from '../../config/index.js';
import { AppError } from '../../errors/app-error.js';
import type { Metrics } from '../../metrics.js';
import type { SignInUser, UsersRepository } from '../../repositories/users.repository.js';
import type { RequestContext, SecurityAudit } from './audit.js';
import type { AuthMail } from './auth-mail.js';
import { isPlausibleEmail, normaliseEmail } from './email-address.js';
import type { PasswordHasher } from './passwords.js';
import { PASSWORD_HARD_MAX_BYTES } from './password-policy.js';
import type { SessionsService, TokenPair } from './sessions.service.js';
import { toUserView, type UserView } from './user-view.js';

export interface SignInResult extends TokenPair {
  user: UserView;
  password_expired: boolean;
}

/** The scopes a person's token may carry: `user`, plus `admin` for admins. */
export function userScopes(role: 'user' | 'admin'): string[] {
  return role === 'admin' ? ['user', 'admin'] : ['user'];
}

/**
 * Password sign-in (POST /auth/login and grant_type=password). Unknown e-mail, wrong password
 * and locked account give the same answer in the same time: each path verifies one argon2id
 * hash (a dummy one when there is no account). MAX_LOGIN_ATTEMPTS failures lock the account for
 * LOCKOUT_DURATION_MINUTES (seed 003: 5 and 30) and e-mail its owner; the count lives in the
 * database row, so every instance shares it.
 */
export class SignInService {
  constructor(
    private readonly config: Readonly<Config>,
    private readonly users: UsersRepository,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionsService,
    private readonly audit: SecurityAudit,
    private readonly mail: AuthMail,
    private readonly metrics: Metrics,
  ) {}

  /**
   * Checks the credentials; returns the user and, when the hash parameters changed, the password
   * re-hashed (the caller writes it with the sign-in), or throws the one indistinguishable refusal.
   */
  private async verifyCredentials(emailInput: string, password: string, context: RequestContext): Promise<{ user: SignInUser; rehash: string | null }> {
    const email = normaliseEmail(emailInput);
    // Nothing over-long is ever hashed; it cannot be anyone's password.
    if (Buffer.byteLength(password) > PASSWORD_HARD_MAX_BYTES || !isPlausibleEmail(email)) {
      await this.fail(null, 'malformed', context);
    }
    const user = await this.users.findForSignIn(email);
    if (!user) {
      await this.hasher.verifyDummy(password);
      return this.fail(null, 'unknown_email', context);
    }
    const ok = await this.hasher.verify(user.password_hash, password);
    const locked = user.locked_until !== null && user.locked_until > new Date();
    if (locked) return this.fail(user, 'locked', context);
    if (!ok) {
      const lockedUntil = new Date(Date.now() + this.config.auth.lockoutMinutes * 60_000);
      const { lockedNow } = await this.users.recordFailedLogin(user.id, this.config.auth.maxLoginAttempts, lockedUntil);
      if (lockedNow) {
        this.metrics.lockouts.inc();
        this.mail.lockout(user, this.config.auth.lockoutMinutes, context.ip);
        await this.audit.record('account.locked', { userId: user.id, details: { minutes: this.config.auth.lockoutMinutes } }, context);
      }
      return this.fail(user, 'wrong_password', context);
    }
    if (this.config.auth.requireEmailVerification && user.email_verified_at === null) {
      // Only said to someone who knows the password.
      throw new AppError('email_not_verified', { detail: 'Follow the link in the verification e-mail, or ask for a new one' });
    }
    const rehash = this.hasher.needsRehash(user.password_hash) ? await this.hasher.hash(password) : null;
    this.metrics.loginAttempts.inc({ outcome: 'success' });
    return { user, rehash };
  }

  /** Credentials to a new session: the login response. `scope`: requested scopes (subset of the user's). */
  async signIn(emailInput: string, password: string, context: RequestContext, options: { scope?: string[]; clientId?: string | null } = {}): Promise<SignInResult> {
    const { user, rehash } = await this.verifyCredentials(emailInput, password, context);
    const allowed = userScopes(user.role);
    const scope = options.scope?.length ? options.scope : allowed;
    if (scope.some((s) => !allowed.includes(s))) {
      // The password was right: failures reset as for any sign-in, though no session starts.
      await this.users.recordSuccessfulLogin(user.id, rehash);
      await this.sessions.userActive(user.id);
      throw new AppError('invalid_scope', { detail: `Allowed scopes: ${allowed.join(' ')}` });
    }
    // The session, its refresh token, the sign-in bookkeeping and login.succeeded: one statement.
    const pair = await this.sessions.start(user.id, scope.join(' '), options.clientId ?? null, context, rehash);
    return { ...pair, user: toUserView(user), password_expired: this.passwordExpired(user) };
  }

  passwordExpired(user: Pick<SignInUser, 'password_changed_at'>): boolean {
    const days = this.config.password.maxAgeDays;
    return days > 0 && Date.now() - user.password_changed_at.getTime() > days * 86_400_000;
  }

  private async fail(user: SignInUser | null, reason: string, context: RequestContext): Promise<never> {
    this.metrics.loginAttempts.inc({ outcome: 'failure' });
    await this.audit.record('login.failed', { userId: user?.id ?? null, details: { reason } }, context);
    throw new AppError('invalid_credentials');
  }
}
