import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type ObjectCannedACL,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Readable } from 'node:stream';
import { AppError } from '../../errors/app-error.js';
import { measureBuffer, meterBody } from './body-meter.js';
import { attachmentContentDisposition } from './content-disposition.js';
import { assertObjectKey, assertObjectPrefix, encodeKeyForUrl } from './object-key.js';
import {
  clampRange,
  ObjectNotFoundError,
  type ByteRange,
  type ListedObject,
  type ObjectBody,
  type ObjectHead,
  type ObjectStorage,
  type PutObjectOptions,
  type PutObjectResult,
  type SignedDownloadOptions,
  type StoredObject,
} from './object-storage.js';
import { isNetworkError, storageUnavailable } from './unavailable.js';

export interface S3ObjectStorageOptions {
  bucket: string;
  region: string;
  /** AWS_S3_ENDPOINT, for S3-compatible stores (MinIO, Ceph, R2, s3rver) */
  endpoint?: string | null;
  forcePathStyle?: boolean;
  /** AWS_S3_CUSTOM_DOMAIN: public URLs point at this host (a CDN), e.g. `cdn.example.com` */
  customDomain?: string | null;
  /**
   * AWS_S3_PRESIGN_ENDPOINT: the store's address as browsers reach it, when it differs from
   * `endpoint` (MinIO at http://minio:9000 inside a compose network, published by a proxy that
   * passes the Host on): signed download URLs are made for it. Default: `endpoint`.
   */
  presignEndpoint?: string | null;
  /** none: the SDK's default chain (environment, profile, instance role) */
  accessKeyId?: string | null;
  secretAccessKey?: string | null;
  /**
   * Send `ACL: public-read` with public objects, as seed 001 sets up its bucket (default true).
   * Off for buckets whose Object Ownership is "bucket owner enforced" (ACLs disabled); such a
   * bucket grants public reads by policy. Turned off by itself after the bucket refuses one.
   */
  publicReadAcl?: boolean;
  /** a stopped store fails fast instead of hanging (defaults: 3 s to connect, 30 s of silence) */
  connectionTimeoutMs?: number;
  socketTimeoutMs?: number;
  /** check() gives up after this long (default 2 s) */
  checkTimeoutMs?: number;
  maxAttempts?: number;
  /** multipart part size and parts in flight: memory per upload is about partSize × (queueSize + 1) */
  partSizeBytes?: number;
  queueSize?: number;
}

const MIN_PART_SIZE = 5 * 1024 * 1024; // S3's floor for every part but the last
const ACL_REFUSED = new Set(['AccessControlListNotSupported']);

interface S3ErrorShape {
  name?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

/**
 * An S3 bucket through AWS SDK v3. Streams go up as multipart uploads (`@aws-sdk/lib-storage`)
 * with bounded memory; a body that fails half-way aborts the multipart upload, so no object
 * appears. Checksums only when required, which S3-compatible stores need.
 */
export class S3ObjectStorage implements ObjectStorage {
  readonly kind = 's3' as const;
  readonly client: S3Client;
  /** signs download URLs (no request of its own): `client`, or one for AWS_S3_PRESIGN_ENDPOINT */
  private readonly presigner: S3Client;
  private readonly bucket: string;
  private sendAcl: boolean;
  private readonly publicBase: string;

  constructor(private readonly options: S3ObjectStorageOptions) {
    this.bucket = options.bucket;
    this.sendAcl = options.publicReadAcl ?? true;
    // What the two clients share: the region, path-style addressing and the credentials.
    const base = {
      region: options.region,
      forcePathStyle: options.forcePathStyle ?? false,
      ...(options.accessKeyId && options.secretAccessKey
        ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } }
        : {}),
    };
    this.client = new S3Client({
      ...base,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: options.maxAttempts ?? 3,
      requestHandler: new NodeHttpHandler({
        connectionTimeout: options.connectionTimeoutMs ?? 3_000,
        socketTimeout: options.socketTimeoutMs ?? 30_000,
        httpAgent: { keepAlive: true, maxSockets: 64 },
        httpsAgent: { keepAlive: true, maxSockets: 64 },
      }),
    });
    this.presigner = options.presignEndpoint ? new S3Client({ ...base, endpoint: options.presignEndpoint }) : this.client;
    this.publicBase = publicBaseUrl(options);
  }

  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), {
        abortSignal: AbortSignal.timeout(this.options.checkTimeoutMs ?? 2_000),
      });
    } catch (err) {
      throw storageUnavailable(err); // for readiness, any failure means "not usable"
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
    if (this.presigner !== this.client) this.presigner.destroy();
  }

  async put(key: string, body: ObjectBody, options: PutObjectOptions): Promise<PutObjectResult> {
    assertObjectKey(key);
    const withAcl = Boolean(options.public) && this.sendAcl;
    const params = {
      Bucket: this.bucket,
      Key: key,
      ContentType: options.contentType,
      ...(options.cacheControl ? { CacheControl: options.cacheControl } : {}),
    };
    const acl = (send: boolean) => (send ? { ACL: 'public-read' as ObjectCannedACL } : {});

    if (Buffer.isBuffer(body)) {
      const result = measureBuffer(body, options);
      const putOnce = (send: boolean) =>
        this.client.send(new PutObjectCommand({ ...params, ...acl(send), Body: body, ContentLength: body.length }));
      try {
        await putOnce(withAcl);
      } catch (err) {
        if (!(withAcl && this.aclRefused(err))) throw translate(err);
        await putOnce(false).catch((retryErr: unknown) => {
          throw translate(retryErr);
        });
      }
      return result;
    }

    const meter = meterBody(body, options);
    const upload = new Upload({
      client: this.client,
      params: { ...params, ...acl(withAcl), Body: meter },
      partSize: Math.max(MIN_PART_SIZE, this.options.partSizeBytes ?? MIN_PART_SIZE),
      queueSize: this.options.queueSize ?? 2,
      leavePartsOnError: false, // abort the multipart upload: its parts never become an object
    });
    try {
      await upload.done();
      return meter.result();
    } catch (err) {
      if (meter.bodyError) throw meter.bodyError;
      meter.abandon();
      if (withAcl) this.aclRefused(err); // a stream cannot be replayed; the next upload goes without
      throw translate(err);
    }
  }

  async get(key: string, range?: ByteRange): Promise<StoredObject> {
    assertObjectKey(key);
    if (range) clampRange(range, Number.MAX_SAFE_INTEGER); // malformed ranges never reach S3
    let out;
    try {
      out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
      );
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(key);
      if ((err as S3ErrorShape).name === 'InvalidRange' && range) {
        const head = await this.head(key);
        if (!head) throw new ObjectNotFoundError(key);
        clampRange(range, head.size); // throws the 416 with the object's size
      }
      throw translate(err);
    }
    const stream = out.Body instanceof Readable ? out.Body : Readable.from([]);
    const contentLength = out.ContentLength ?? 0;
    const served = parseContentRange(out.ContentRange);
    return {
      stream,
      size: served?.size ?? contentLength,
      contentType: out.ContentType ?? 'application/octet-stream',
      range: served ? { start: served.start, end: served.end } : null,
      contentLength,
    };
  }

  async head(key: string): Promise<ObjectHead | null> {
    assertObjectKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: out.ContentLength ?? 0, contentType: out.ContentType ?? 'application/octet-stream' };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw translate(err);
    }
  }

  async delete(key: string): Promise<void> {
    assertObjectKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (isNotFound(err)) return;
      throw translate(err);
    }
  }

  async *list(prefix = ''): AsyncIterable<ListedObject> {
    assertObjectPrefix(prefix);
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            ...(prefix ? { Prefix: prefix } : {}),
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
      } catch (err) {
        throw translate(err);
      }
      for (const item of page.Contents ?? []) {
        if (item.Key === undefined) continue;
        yield { key: item.Key, size: item.Size ?? 0, lastModified: item.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  publicUrl(key: string): string {
    assertObjectKey(key);
    return `${this.publicBase}/${encodeKeyForUrl(key)}`;
  }

  async signedDownloadUrl(key: string, options: SignedDownloadOptions): Promise<string | null> {
    assertObjectKey(key);
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ResponseContentDisposition: attachmentContentDisposition(options.filename),
      ResponseContentType: options.contentType,
    });
    // Signing is local (no round trip); only resolving credentials may fail.
    try {
      return await getSignedUrl(this.presigner, command, { expiresIn: options.expiresInSeconds });
    } catch (err) {
      throw translate(err);
    }
  }

  /** true when the bucket refused the ACL; ACLs are then no longer sent */
  private aclRefused(err: unknown): boolean {
    if (!ACL_REFUSED.has((err as S3ErrorShape | null)?.name ?? '')) return false;
    this.sendAcl = false;
    return true;
  }
}

/**
 * The base of public URLs: the custom (CDN) domain when set; else the endpoint, path-style when
 * forcePathStyle; else AWS's virtual-hosted URL (seed 001: https://{bucket}.s3.{region}.amazonaws.com).
 */
export function publicBaseUrl(options: Pick<S3ObjectStorageOptions, 'bucket' | 'region' | 'endpoint' | 'forcePathStyle' | 'customDomain'>): string {
  const bucket = encodeURIComponent(options.bucket);
  if (options.customDomain) {
    const domain = options.customDomain.replace(/\/+$/, '');
    return /^https?:\/\//i.test(domain) ? domain : `https://${domain}`;
  }
  if (options.endpoint) {
    const url = new URL(options.endpoint);
    const basePath = url.pathname.replace(/\/+$/, '');
    if (options.forcePathStyle) return `${url.origin}${basePath}/${bucket}`;
    return `${url.protocol}//${bucket}.${url.host}${basePath}`;
  }
  // A dotted bucket name breaks the wildcard certificate of virtual-hosted URLs.
  if (options.forcePathStyle || options.bucket.includes('.')) return `https://s3.${options.region}.amazonaws.com/${bucket}`;
  return `https://${bucket}.s3.${options.region}.amazonaws.com`;
}

function isNotFound(err: unknown): boolean {
  const e = err as S3ErrorShape | null;
  if (e?.name === 'NoSuchKey' || e?.name === 'NotFound') return true;
  return e?.$metadata?.httpStatusCode === 404 && e.name !== 'NoSuchBucket';
}

function translate(err: unknown): unknown {
  if (err instanceof AppError) return err;
  const e = err as S3ErrorShape | null;
  const status = e?.$metadata?.httpStatusCode;
  if (isNetworkError(err) || (status !== undefined && status >= 500) || e?.$retryable?.throttling || e?.name === 'SlowDown') {
    return storageUnavailable(err);
  }
  return err;
}

function parseContentRange(header: string | undefined): { start: number; end: number; size: number } | null {
  const match = header ? /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header) : null;
  if (!match) return null;
  return { start: Number(match[1]), end: Number(match[2]), size: Number(match[3]) };
}
