/**
 * Where avatars and user files live. One interface; `local` (DATA_DIR/uploads) by default,
 * S3-compatible or Cloudinary in production. The profile and file services only see this.
 */
export interface ObjectStorage {
  readonly kind: 'local' | 's3' | 'cloudinary';
  /** a cheap round trip proving the store can be written to; throws when it cannot */
  check(): Promise<void>;
  close(): Promise<void>;
}
