import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.js';
import { CloudinaryObjectStorage } from './cloudinary.js';
import { createObjectStorage } from './index.js';
import { LocalObjectStorage } from './local.js';
import { S3ObjectStorage } from './s3.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-storage-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createObjectStorage', () => {
  it('defaults to DATA_DIR/uploads, creating it, with public URLs under PUBLIC_URL', async () => {
    const storage = await createObjectStorage(loadConfig({ DATA_DIR: dir, PUBLIC_URL: 'https://id.example.com/' }));
    expect(storage).toBeInstanceOf(LocalObjectStorage);
    expect((await stat(path.join(dir, 'uploads'))).isDirectory()).toBe(true);
    expect(storage.publicUrl('avatars/u/a-800.webp')).toBe('https://id.example.com/uploads/avatars/u/a-800.webp');
    await storage.close();
  });

  it('builds the S3 store from the AWS_* variables without a round trip', async () => {
    const storage = await createObjectStorage(
      loadConfig({
        DATA_DIR: dir,
        STORAGE_PROVIDER: 's3',
        AWS_BUCKET_NAME: 'production-avatars',
        AWS_REGION: 'ap-southeast-1',
        AWS_S3_CUSTOM_DOMAIN: 'd1234567890.cloudfront.net',
      }),
    );
    expect(storage).toBeInstanceOf(S3ObjectStorage);
    expect(storage.publicUrl('avatars/u/a-800.webp')).toBe('https://d1234567890.cloudfront.net/avatars/u/a-800.webp');
    await storage.close();
  });

  it('builds the Cloudinary store from CLOUDINARY_URL', async () => {
    const storage = await createObjectStorage(loadConfig({ DATA_DIR: dir, STORAGE_PROVIDER: 'cloudinary', CLOUDINARY_URL: 'cloudinary://key:secret@cloud_name' }));
    expect(storage).toBeInstanceOf(CloudinaryObjectStorage);
    expect(storage.kind).toBe('cloudinary');
    await storage.close();
  });
});
