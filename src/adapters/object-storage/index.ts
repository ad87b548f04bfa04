import path from 'node:path';
import type { Config } from '../../config/index.js';
import { LocalObjectStorage } from './local.js';
import type { ObjectStorage } from './object-storage.js';

export type { ObjectStorage } from './object-storage.js';

/**
 * The store STORAGE_PROVIDER names. Opens no connection (check() is for /ready), except that
 * the local folder is created.
 */
export async function createObjectStorage(config: Readonly<Config>): Promise<ObjectStorage> {
  const { storage } = config;
  switch (storage.provider) {
    case 's3': {
      if (!storage.s3.bucket) throw new Error('AWS_S3_BUCKET is required when STORAGE_PROVIDER=s3');
      // Each provider's SDK is loaded only when chosen: the AWS SDK alone costs ~0.5 s of start-up.
      const { S3ObjectStorage } = await import('./s3.js');
      return new S3ObjectStorage({ ...storage.s3, bucket: storage.s3.bucket });
    }
    case 'cloudinary': {
      if (!storage.cloudinaryUrl) throw new Error('CLOUDINARY_URL is required when STORAGE_PROVIDER=cloudinary');
      const { CloudinaryObjectStorage, parseCloudinaryUrl } = await import('./cloudinary.js');
      return new CloudinaryObjectStorage(parseCloudinaryUrl(storage.cloudinaryUrl));
    }
    case 'local': {
      const local = new LocalObjectStorage(path.join(config.dataDir, 'uploads'), { publicUrl: config.server.publicUrl });
      await local.init();
      return local;
    }
  }
}
