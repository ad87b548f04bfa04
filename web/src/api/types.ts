/** The API's shapes, as the web app uses them (SPEC "HTTP API"). */

export interface User {
  id: string;
  email: string;
  email_verified: boolean;
  display_name: string | null;
  role: 'user' | 'admin';
  created_at: string;
}

export interface Profile {
  id: string;
  display_name: string | null;
  bio: string | null;
  avatar_url: string | null;
  avatar_thumbnail_url: string | null;
  created_at: string;
  email?: string;
  last_login_at?: string | null;
  last_active_at?: string | null;
}

export type Theme = 'light' | 'dark' | 'system';
export type Visibility = 'public' | 'users' | 'private';

export interface Preferences {
  theme: Theme;
  language: string;
  notifications: { email: boolean; push: boolean; task_reminders: boolean; task_assignments: boolean };
  privacy: { profile_visibility: Visibility; show_email: boolean; show_activity: boolean };
}

export interface Session {
  id: string;
  created_at: string;
  last_used_at: string;
  ip: string | null;
  user_agent: string | null;
  current: boolean;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface StoredFile {
  id: string;
  name: string;
  size: number;
  content_type: string;
  sha256: string;
  created_at: string;
  updated_at?: string;
}

export interface FileUsage {
  used_bytes: number;
  quota_bytes: number;
  count: number;
}

export interface DuplicateGroup {
  sha256: string;
  /** bytes of one copy */
  size: number;
  copies: number;
  /** freed by deleting every copy but one */
  reclaimable_bytes: number;
  /** oldest first */
  files: StoredFile[];
}

export interface DuplicatesReport extends Page<DuplicateGroup> {
  group_count: number;
  reclaimable_bytes: number;
}

export interface AdminUser extends User {
  locked: boolean;
  locked_until: string | null;
  last_login_at: string | null;
  last_active_at: string | null;
}
