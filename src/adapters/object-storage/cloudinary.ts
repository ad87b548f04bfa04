import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { v2 as cloudinarySdk } from 'cloudinary';
import { measureBuffer, meterBody } from './body-meter.js';
import { assertObjectKey, assertObjectPrefix } from './object-key.js';
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
  type StoredObject,
} from './object-storage.js';
import { isNetworkError, storageUnavailable } from './unavailable.js';

/** What CLOUDINARY_URL (`cloudinary://key:secret@cloud_name[?upload_prefix=…]`) says. */
export interface CloudinaryAccount {
  cloudName: string;
  apiKey: string;
  apiSecret: string;
  /** the API host; `https://api.cloudinary.com` unless the URL's `upload_prefix` says otherwise */
  uploadPrefix: string;
  /** a private CDN or CNAME for delivery URLs (the URL's path, as the SDK reads it) */
  secureDistribution: string | null;
}

export interface CloudinaryObjectStorageOptions {
  /** an upload or admin call that stays silent this long fails (default 60 s) */
  timeoutMs?: number;
  /** check() gives up after this long (default 2 s) */
  checkTimeoutMs?: number;
}

type SdkOptions = Record<string, unknown>;
type SdkCallback = (error: unknown, result?: Record<string, unknown>) => void;

// The slice of the SDK used here, with per-call options: the SDK's global config is never touched.
interface CloudinaryApi {
  uploader: {
    upload_stream(options: SdkOptions, callback: SdkCallback): Writable;
    destroy(publicId: string, options: SdkOptions): Promise<Record<string, unknown>>;
  };
  api: {
    ping(options: SdkOptions): Promise<unknown>;
    resource(publicId: string, options: SdkOptions): Promise<Record<string, unknown>>;
    resources(options: SdkOptions): Promise<{ resources?: Record<string, unknown>[]; next_cursor?: string }>;
  };
  url(publicId: string, options: SdkOptions): string;
}
const sdk = cloudinarySdk as unknown as CloudinaryApi;

// Keys with these extensions are images (public_id without the extension); others are raw files
// (public_id is the whole key, as Cloudinary keeps raw files' extensions).
const IMAGE_EXTENSIONS: Record<string, string> = {
  '.webp': 'image/webp',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.avif': 'image/avif',
};
const IMAGE_FORMAT_TYPES: Record<string, string> = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif', avif: 'image/avif' };
const RESOURCE_TYPES = ['image', 'raw'] as const;
type ResourceType = (typeof RESOURCE_TYPES)[number];

export function parseCloudinaryUrl(value: string): CloudinaryAccount {
  const url = new URL(value);
  if (url.protocol !== 'cloudinary:' || !url.hostname || !url.username || !url.password) {
    throw new Error('CLOUDINARY_URL must look like cloudinary://api_key:api_secret@cloud_name');
  }
  const distribution = url.pathname.replace(/^\/+|\/+$/g, '');
  return {
    cloudName: decodeURIComponent(url.hostname),
    apiKey: decodeURIComponent(url.username),
    apiSecret: decodeURIComponent(url.password),
    uploadPrefix: (url.searchParams.get('upload_prefix') ?? 'https://api.cloudinary.com').replace(/\/+$/, ''),
    secureDistribution: url.searchParams.get('secure_distribution') ?? (distribution || null),
  };
}

/**
 * Cloudinary through its official SDK. Every object is delivered by public URL (Cloudinary has
 * no private `upload` type here): meant for avatars. Content type and Cache-Control are
 * Cloudinary's own; an object's key maps to a public_id (see IMAGE_EXTENSIONS).
 */
export class CloudinaryObjectStorage implements ObjectStorage {
  readonly kind = 'cloudinary' as const;
  private readonly insecureApi: boolean;

  constructor(
    readonly account: CloudinaryAccount,
    private readonly options: CloudinaryObjectStorageOptions = {},
  ) {
    this.insecureApi = account.uploadPrefix.startsWith('http:');
  }

  async check(): Promise<void> {
    const agent = this.newAgent();
    const timeoutMs = this.options.checkTimeoutMs ?? 2_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        sdk.api.ping(this.callOptions(agent, { timeout: timeoutMs })),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(Object.assign(new Error('Cloudinary did not answer'), { name: 'TimeoutError' })), timeoutMs);
        }),
      ]);
    } catch (err) {
      throw storageUnavailable(sdkError(err));
    } finally {
      clearTimeout(timer);
      agent.destroy();
    }
  }

  async close(): Promise<void> {}

  async put(key: string, body: ObjectBody, options: PutObjectOptions): Promise<PutObjectResult> {
    const { publicId, resourceType } = locate(key);
    const measured = Buffer.isBuffer(body) ? measureBuffer(body, options) : null;
    const meter = Buffer.isBuffer(body) ? null : meterBody(body, options);
    // One agent per upload: destroying it is how a half-sent upload is cut off (the SDK
    // exposes no request), and Cloudinary keeps nothing of a request that never ended.
    const agent = this.newAgent();
    try {
      await new Promise<void>((resolve, reject) => {
        const target = sdk.uploader.upload_stream(
          this.callOptions(agent, {
            public_id: publicId,
            resource_type: resourceType,
            type: 'upload',
            overwrite: true,
            invalidate: true,
            use_filename: false,
            unique_filename: false,
            disable_promises: true, // else the SDK leaves an unobserved rejected promise behind
          }),
          (error) => (error ? reject(error instanceof Error ? error : sdkError(error)) : resolve()),
        );
        if (meter === null) {
          target.end(body);
          return;
        }
        meter.once('error', (err) => {
          agent.destroy();
          reject(err);
        });
        meter.pipe(target);
      });
      return measured ?? meter!.result();
    } catch (err) {
      if (meter?.bodyError) throw meter.bodyError;
      meter?.abandon();
      throw translate(err);
    } finally {
      agent.destroy();
    }
  }

  async get(key: string, range?: ByteRange): Promise<StoredObject> {
    if (range) clampRange(range, Number.MAX_SAFE_INTEGER);
    const url = this.publicUrl(key);
    let response: Response;
    try {
      response = await fetch(url, range ? { headers: { range: `bytes=${range.start}-${range.end}` } } : {});
    } catch (err) {
      throw storageUnavailable(err);
    }
    if (response.status === 404) throw new ObjectNotFoundError(key);
    if (response.status === 416 && range) {
      const head = await this.head(key);
      if (!head) throw new ObjectNotFoundError(key);
      clampRange(range, head.size);
    }
    if (response.status >= 500 || !response.body || (response.status !== 200 && response.status !== 206)) {
      await response.body?.cancel().catch(() => undefined);
      throw storageUnavailable(new Error(`Cloudinary answered ${response.status} for ${url}`));
    }
    const contentLength = Number(response.headers.get('content-length') ?? 0);
    const served = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.headers.get('content-range') ?? '');
    return {
      stream: Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      size: served ? Number(served[3]) : contentLength,
      contentType: response.headers.get('content-type') ?? 'application/octet-stream',
      range: served && response.status === 206 ? { start: Number(served[1]), end: Number(served[2]) } : null,
      contentLength,
    };
  }

  async head(key: string): Promise<ObjectHead | null> {
    const { publicId, resourceType } = locate(key);
    const agent = this.newAgent();
    try {
      const info = await sdk.api.resource(publicId, this.callOptions(agent, { resource_type: resourceType, type: 'upload' }));
      return { size: Number(info.bytes ?? 0), contentType: contentTypeOf(resourceType, info.format) };
    } catch (err) {
      if (httpCode(err) === 404) return null;
      throw translate(err);
    } finally {
      agent.destroy();
    }
  }

  async delete(key: string): Promise<void> {
    const { publicId, resourceType } = locate(key);
    const agent = this.newAgent();
    try {
      // answers {result: 'not found'} for a missing object: fine, delete is idempotent
      await sdk.uploader.destroy(publicId, this.callOptions(agent, { resource_type: resourceType, type: 'upload', invalidate: true }));
    } catch (err) {
      if (httpCode(err) === 404) return;
      throw translate(err);
    } finally {
      agent.destroy();
    }
  }

  async *list(prefix = ''): AsyncIterable<ListedObject> {
    assertObjectPrefix(prefix);
    for (const resourceType of RESOURCE_TYPES) {
      let cursor: string | undefined;
      do {
        const agent = this.newAgent();
        let page;
        try {
          page = await sdk.api.resources(
            this.callOptions(agent, {
              resource_type: resourceType,
              type: 'upload',
              max_results: 500,
              ...(prefix ? { prefix } : {}),
              ...(cursor ? { next_cursor: cursor } : {}),
            }),
          );
        } catch (err) {
          throw translate(err);
        } finally {
          agent.destroy();
        }
        for (const item of page.resources ?? []) {
          const publicId = String(item.public_id);
          const key = resourceType === 'image' && item.format ? `${publicId}.${String(item.format)}` : publicId;
          yield { key, size: Number(item.bytes ?? 0), lastModified: new Date(String(item.created_at ?? 0)) };
        }
        cursor = page.next_cursor;
      } while (cursor);
    }
  }

  publicUrl(key: string): string {
    const { publicId, resourceType, extension } = locate(key);
    return sdk.url(resourceType === 'image' ? `${publicId}${extension}` : publicId, {
      cloud_name: this.account.cloudName,
      resource_type: resourceType,
      type: 'upload',
      secure: true,
      urlAnalytics: false, // no SDK-usage tag in public URLs
      ...(this.account.secureDistribution ? { secure_distribution: this.account.secureDistribution, private_cdn: true } : {}),
    });
  }

  async signedDownloadUrl(key: string): Promise<string | null> {
    assertObjectKey(key);
    return null;
  }

  private callOptions(agent: http.Agent, extra: SdkOptions): SdkOptions {
    return {
      cloud_name: this.account.cloudName,
      api_key: this.account.apiKey,
      api_secret: this.account.apiSecret,
      upload_prefix: this.account.uploadPrefix,
      timeout: this.options.timeoutMs ?? 60_000,
      // Also lets an http:// upload_prefix work: the SDK picks http or https once, at load.
      agent,
      ...extra,
    };
  }

  private newAgent(): http.Agent {
    return this.insecureApi ? new http.Agent({ keepAlive: false }) : new https.Agent({ keepAlive: false });
  }
}

function locate(key: string): { publicId: string; resourceType: ResourceType; extension: string } {
  assertObjectKey(key);
  const extension = path.posix.extname(key).toLowerCase();
  if (extension in IMAGE_EXTENSIONS) return { publicId: key.slice(0, -extension.length), resourceType: 'image', extension };
  return { publicId: key, resourceType: 'raw', extension };
}

function contentTypeOf(resourceType: ResourceType, format: unknown): string {
  if (resourceType === 'image' && typeof format === 'string') return IMAGE_FORMAT_TYPES[format.toLowerCase()] ?? 'application/octet-stream';
  return 'application/octet-stream';
}

function httpCode(err: unknown): number | undefined {
  const e = err as { http_code?: unknown; error?: { http_code?: unknown } } | null;
  const code = e?.http_code ?? e?.error?.http_code;
  return typeof code === 'number' ? code : undefined;
}

/** The SDK rejects with plain objects ({message, http_code} or {error: …}); make them Errors. */
function sdkError(err: unknown): unknown {
  if (err instanceof Error) return err;
  const inner = (err as { error?: unknown } | null)?.error ?? err;
  if (inner instanceof Error) return inner;
  const message = (inner as { message?: unknown } | null)?.message;
  return Object.assign(new Error(`Cloudinary: ${typeof message === 'string' ? message : 'request failed'}`), {
    http_code: httpCode(err),
    name: (inner as { name?: unknown } | null)?.name === 'TimeoutError' ? 'TimeoutError' : 'CloudinaryError',
    details: inner,
  });
}

function translate(err: unknown): unknown {
  const error = sdkError(err);
  const code = httpCode(error) ?? httpCode(err);
  // 499 is the SDK's own timeout; 420/429 are Cloudinary's rate limits
  if (isNetworkError(error) || (code !== undefined && (code >= 500 || code === 499 || code === 420 || code === 429))) {
    return storageUnavailable(error);
  }
  return error;
}
