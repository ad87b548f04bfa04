import type { ColumnType, Generated } from 'kysely';

/** The Kysely Database interface: one entry per table, grown by each migration. */
export interface Database {
  tessera_meta: TesseraMetaTable;
  users: UsersTable;
  password_history: PasswordHistoryTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  email_tokens: EmailTokensTable;
  oauth_clients: OAuthClientsTable;
  signing_keys: SigningKeysTable;
  audit_events: AuditEventsTable;
  user_preferences: UserPreferencesTable;
  files: FilesTable;
  storage_usage: StorageUsageTable;
  storage_reservations: StorageReservationsTable;
  service_token_revocations: ServiceTokenRevocationsTable;
}

export interface TesseraMetaTable {
  key: string;
  value: string;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** A timestamp column the database fills in (now()) unless given. */
type CreatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

// 0002_accounts
export interface UsersTable {
  id: Generated<string>;
  /** normalised: trimmed, NFC, lower-cased */
  email: string;
  display_name: string | null;
  email_verified_at: NullableTimestamp;
  role: ColumnType<'user' | 'admin', 'user' | 'admin' | undefined, 'user' | 'admin'>;
  password_hash: string;
  password_changed_at: CreatedAt;
  failed_login_count: Generated<number>;
  locked_until: NullableTimestamp;
  last_login_at: NullableTimestamp;
  last_active_at: NullableTimestamp;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export interface PasswordHistoryTable {
  id: Generated<string>;
  user_id: string;
  password_hash: string;
  created_at: CreatedAt;
}

export interface SessionsTable {
  id: Generated<string>;
  user_id: string;
  client_id: string | null;
  scope: string;
  ip: string | null;
  user_agent: string | null;
  created_at: CreatedAt;
  last_used_at: CreatedAt;
  expires_at: Timestamp;
  revoked_at: NullableTimestamp;
  revoked_reason: string | null;
}

export interface RefreshTokensTable {
  id: Generated<string>;
  session_id: string;
  /** SHA-256 of the token, hex: the token itself is never stored */
  token_hash: string;
  parent_id: string | null;
  created_at: CreatedAt;
  expires_at: Timestamp;
  rotated_at: NullableTimestamp;
}

export interface EmailTokensTable {
  id: Generated<string>;
  user_id: string;
  purpose: 'verify_email' | 'password_reset';
  token_hash: string;
  /** the address the link was sent to: a link for an old address verifies nothing */
  email: string;
  created_at: CreatedAt;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
}

export interface OAuthClientsTable {
  id: Generated<string>;
  client_id: string;
  name: string;
  secret_hash: string;
  /** space-separated, as OAuth writes scopes */
  scopes: string;
  created_at: CreatedAt;
  revoked_at: NullableTimestamp;
}

export interface SigningKeysTable {
  kid: string;
  algorithm: string;
  public_jwk: string;
  /** a JWK, encrypted with AES-256-GCM when a secret is configured */
  private_key: string;
  created_at: CreatedAt;
  retired_at: NullableTimestamp;
}

export interface AuditEventsTable {
  id: Generated<string>;
  occurred_at: CreatedAt;
  event: string;
  actor_user_id: string | null;
  user_id: string | null;
  client_id: string | null;
  ip: string | null;
  user_agent: string | null;
  details: ColumnType<Record<string, unknown>, string | undefined, string>;
}

// 0003_profiles: profile columns on users (merged into UsersTable above)
export interface UsersTable {
  /** plain text, neutralised by the profiles service */
  bio: ColumnType<string | null, string | null | undefined, string | null>;
  /** object keys of the current avatar and its thumbnail (content-addressed) */
  avatar_key: ColumnType<string | null, string | null | undefined, string | null>;
  avatar_thumbnail_key: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface NotificationPreferences {
  email: boolean;
  push: boolean;
  task_reminders: boolean;
  task_assignments: boolean;
}

export interface PrivacyPreferences {
  profile_visibility: 'public' | 'users' | 'private';
  show_email: boolean;
  show_activity: boolean;
}

export interface UserPreferencesTable {
  user_id: string;
  theme: ColumnType<'light' | 'dark' | 'system', 'light' | 'dark' | 'system' | undefined, 'light' | 'dark' | 'system'>;
  language: ColumnType<string, string | undefined, string>;
  /** JSON text on the way in, an object on the way out (both drivers parse jsonb) */
  notifications: ColumnType<Partial<NotificationPreferences>, string | undefined, string>;
  privacy: ColumnType<Partial<PrivacyPreferences>, string | undefined, string>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

// 0004_files
/** bigint columns: a number from pg (see database.ts), possibly a bigint or string from PGlite */
type ByteCount = ColumnType<number | string | bigint, number | undefined, number>;

export interface FilesTable {
  /** made by the service before the object is written: the object key carries it */
  id: string;
  user_id: string;
  /** sanitised: NFC, no separators or control characters, 1 to 255 UTF-8 bytes */
  name: string;
  size: ByteCount;
  /** decided from the content, never from the name */
  content_type: string;
  /** hex SHA-256 of the content: the ETag and the duplicates key */
  sha256: string;
  /** `files/<user_id>/<id>` */
  object_key: string;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export interface StorageUsageTable {
  user_id: string;
  used_bytes: ByteCount;
  /** held by uploads in progress (storage_reservations) */
  reserved_bytes: ByteCount;
  updated_at: CreatedAt;
}

export interface StorageReservationsTable {
  id: string;
  user_id: string;
  bytes: ByteCount;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export type { Generated };

// 0005_service_token_revocations
export interface ServiceTokenRevocationsTable {
  /** the token's `sid` */
  token_id: string;
  client_id: string;
  revoked_at: CreatedAt;
  expires_at: Date;
}
