/** What a backup archive holds, with a checksum for every part. */
export const BACKUP_FORMAT = 'tessera-backup/1';

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  created_at: string;
  tessera_version: string;
  /** the last migration applied to the database that was saved */
  schema_version: string;
  /** every migration applied, in order */
  migrations: string[];
  database: { kind: 'embedded' | 'postgres' };
  tables: { name: string; rows: number; file: string; sha256: string; bytes: number }[];
  /** local uploads; absent when objects live in S3/Cloudinary (back those up there) */
  objects: { storage: 'local' | 's3' | 'cloudinary'; files: { key: string; bytes: number; sha256: string }[] };
}
