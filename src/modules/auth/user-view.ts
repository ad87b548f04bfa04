import type { UserRow } from '../../repositories/users.repository.js';
import { neutraliseDisplayName } from '../profiles/sanitize.js';

/** The user object every auth response carries. */
export interface UserView {
  id: string;
  email: string;
  email_verified: boolean;
  display_name: string | null;
  role: 'user' | 'admin';
  created_at: string;
}

export function toUserView(row: Pick<UserRow, 'id' | 'email' | 'email_verified_at' | 'display_name' | 'role' | 'created_at'>): UserView {
  return {
    id: row.id,
    email: row.email,
    email_verified: row.email_verified_at !== null,
    // Neutralised again on the way out, as profiles are: names stored before registration
    // applied the profile rules (it only removed control characters) come out as plain text too.
    display_name: row.display_name === null ? null : neutraliseDisplayName(row.display_name),
    role: row.role,
    created_at: row.created_at.toISOString(),
  };
}

/** What admins see besides: lock state and activity. */
export interface AdminUserView extends UserView {
  locked: boolean;
  locked_until: string | null;
  last_login_at: string | null;
  last_active_at: string | null;
}

export function toAdminUserView(row: UserRow): AdminUserView {
  const locked = row.locked_until !== null && row.locked_until > new Date();
  return {
    ...toUserView(row),
    locked,
    locked_until: locked ? row.locked_until!.toISOString() : null,
    last_login_at: row.last_login_at?.toISOString() ?? null,
    last_active_at: row.last_active_at?.toISOString() ?? null,
  };
}
