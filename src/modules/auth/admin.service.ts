import { AppError } from '../../errors/app-error.js';
import { invalidCursor } from '../pagination/cursor.js';
import { LOCKED_INDEFINITELY, type UserRow, type UsersRepository } from '../../repositories/users.repository.js';
import type { RequestContext, SecurityAudit } from './audit.js';
import type { Principal } from './authenticator.js';
import type { AccountsService } from './accounts.service.js';
import type { PasswordHasher } from './passwords.js';
import type { SessionsService } from './sessions.service.js';
import type { UserCache } from './user-cache.js';
import { toAdminUserView, type AdminUserView } from './user-view.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface UserPage {
  items: AdminUserView[];
  /** the last row's (created_at, id), for the caller to seal into a cursor */
  next: { createdAt: string; id: string } | null;
}

/** What admins do to accounts. Every action is audit-logged with the admin as actor. */
export class AdminService {
  constructor(
    private readonly users: UsersRepository,
    private readonly sessions: SessionsService,
    private readonly accounts: AccountsService,
    private readonly hasher: PasswordHasher,
    private readonly userCache: UserCache,
    private readonly audit: SecurityAudit,
  ) {}

  /** The admin behind a request: a user token whose account has the admin role now (not when the token was issued). */
  async requireAdmin(principal: Principal | null): Promise<UserRow> {
    if (!principal || principal.kind !== 'user') throw new AppError('admin_required');
    const user = await this.users.findById(principal.userId);
    if (!user || user.role !== 'admin') throw new AppError('admin_required');
    return user;
  }

  async searchUsers(q: string | null, after: { createdAt: string; id: string } | null, limit: number): Promise<UserPage> {
    const query = q ? q.trim().toLowerCase() : null;
    const afterKey = after && UUID.test(after.id) && !Number.isNaN(Date.parse(after.createdAt)) ? { createdAt: new Date(after.createdAt), id: after.id } : null;
    if (after && !afterKey) throw invalidCursor();
    const rows = await this.users.search(query || null, afterKey, limit + 1);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(toAdminUserView),
      next: rows.length > limit && last ? { createdAt: last.created_at.toISOString(), id: last.id } : null,
    };
  }

  private async target(userId: string): Promise<UserRow> {
    const user = UUID.test(userId) ? await this.users.findById(userId) : undefined;
    if (!user) throw new AppError('user_not_found');
    return user;
  }

  /** Locks the account (indefinitely, or for `minutes`) and signs all its sessions out. */
  async lockUser(actor: string | null, userId: string, minutes: number | null, context: RequestContext): Promise<AdminUserView> {
    await this.target(userId);
    const until = minutes ? new Date(Date.now() + minutes * 60_000) : LOCKED_INDEFINITELY;
    const row = (await this.users.setLock(userId, until))!;
    const ended = await this.sessions.revokeAll('admin_locked', { userId });
    await this.userCache.invalidate(userId);
    await this.audit.record('admin.user_locked', { actorUserId: actor, userId, details: { minutes, sessions_ended: ended } }, context);
    return toAdminUserView(row);
  }

  async unlockUser(actor: string | null, userId: string, context: RequestContext): Promise<AdminUserView> {
    await this.target(userId);
    const row = (await this.users.setLock(userId, null))!;
    await this.userCache.invalidate(userId);
    await this.audit.record('admin.user_unlocked', { actorUserId: actor, userId }, context);
    return toAdminUserView(row);
  }

  async revokeSessions(actor: string | null, userId: string, context: RequestContext): Promise<number> {
    await this.target(userId);
    const ended = await this.sessions.revokeAll('admin_revoked', { userId });
    await this.audit.record('admin.sessions_revoked', { actorUserId: actor, userId, details: { sessions_ended: ended } }, context);
    return ended;
  }

  /** `tessera admin create`: an admin account, verified (the operator vouches for the address). */
  async createAdmin(emailInput: string, password: string, context: RequestContext): Promise<UserRow> {
    const email = this.accounts.normaliseEmailOrThrow(emailInput);
    this.accounts.assertPasswordAllowed(password, email, 'password');
    const passwordHash = await this.hasher.hash(password);
    const row = await this.users.insert({ email, displayName: null, passwordHash, role: 'admin', emailVerified: true });
    await this.audit.record('admin.user_created', { userId: row.id, details: { role: 'admin', via: 'cli' } }, context);
    return row;
  }

  async findByEmail(emailInput: string): Promise<UserRow> {
    const email = this.accounts.normaliseEmailOrThrow(emailInput);
    const user = await this.users.findByEmail(email);
    if (!user) throw new AppError('user_not_found', { detail: `No account has the address ${email}` });
    return user;
  }
}
