import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { Stats } from 'node:fs';
import { chmod, mkdir, open, opendir, rename, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { measureBuffer, watchBody } from './body-meter.js';
import { FileSink } from './file-sink.js';
import { assertObjectKey, assertObjectPrefix, encodeKeyForUrl, InvalidObjectKeyError } from './object-key.js';
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
import { storageUnavailable } from './unavailable.js';

export interface LocalObjectStorageOptions {
  /** PUBLIC_URL: objects are served by the app at `${publicUrl}/uploads/<key>` */
  publicUrl?: string;
  /** flush each object's bytes to disk before it becomes visible (default true) */
  fsync?: boolean;
}

// The local store keeps no metadata beside the bytes: the type comes from the key's extension.
const CONTENT_TYPES: Record<string, string> = {
  '.webp': 'image/webp',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.avif': 'image/avif',
  '.pdf': 'application/pdf',
  '.txt': 'text/plain; charset=utf-8',
  '.json': 'application/json',
};
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

// A full disk or a failing one is an outage of the store, not a bug: 503.
const UNAVAILABLE_FS_CODES = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'EMFILE', 'ENFILE', 'EAGAIN']);
const MISSING_FS_CODES = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/**
 * Objects as files under one root folder (DATA_DIR/uploads); nothing may resolve outside it.
 * A write goes to a temporary file beside its target (`.<name>.<uuid>.tmp`) and is renamed
 * into place, so a reader sees the whole object or none. Public objects are world-readable
 * files (0644), private ones owner-only (0600): `getPublic` serves only the former.
 */
export class LocalObjectStorage implements ObjectStorage {
  readonly kind = 'local' as const;
  readonly root: string;
  private readonly publicBase: string;
  private readonly fsync: boolean;

  constructor(root: string, options: LocalObjectStorageOptions = {}) {
    this.root = path.resolve(root);
    this.publicBase = `${(options.publicUrl ?? '').replace(/\/+$/, '')}/uploads`;
    this.fsync = options.fsync ?? true;
  }

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }

  async check(): Promise<void> {
    const probe = path.join(this.root, `.ready-${randomUUID()}`);
    try {
      await writeFile(probe, '');
      await rm(probe, { force: true });
    } catch (err) {
      throw storageUnavailable(err);
    }
  }

  async close(): Promise<void> {}

  /** The file that holds `key`; refuses any key that is invalid or would resolve outside the root. */
  pathOf(key: string): string {
    assertObjectKey(key);
    const full = path.resolve(this.root, ...key.split('/'));
    if (!full.startsWith(this.root + path.sep)) throw new InvalidObjectKeyError(key, 'resolves outside the storage root');
    return full;
  }

  async put(key: string, body: ObjectBody, options: PutObjectOptions): Promise<PutObjectResult> {
    const target = this.pathOf(key);
    const folder = path.dirname(target);
    const temp = path.join(folder, `.${path.basename(target)}.${randomUUID()}.tmp`);
    const mode = options.public ? 0o644 : 0o600;
    if (Buffer.isBuffer(body)) return this.putBuffer(temp, target, body, mode, options);
    // One stage from the source to the file: counted, hashed and limited as it is written (see
    // FileSink). Piped at once, so a source that fails while the file is being opened is seen.
    const sink = new FileSink(temp, { mode, limits: options, sync: this.fsync });
    watchBody(body, sink);
    try {
      await pipeline(body, sink);
      await rename(temp, target);
      return sink.result();
    } catch (err) {
      // a sink destroyed while still opening creates its file afterwards: wait for it to close
      if (!sink.closed) await once(sink, 'close').catch(() => undefined);
      await rm(temp, { force: true }).catch(() => undefined);
      if (sink.bodyError) throw sink.bodyError;
      body.destroy(); // the store failed: stop reading (pipeline has, unless rename failed)
      throw translateFsError(err);
    }
  }

  private async putBuffer(temp: string, target: string, body: Buffer, mode: number, options: PutObjectOptions): Promise<PutObjectResult> {
    try {
      const result = measureBuffer(body, options);
      await mkdir(path.dirname(temp), { recursive: true });
      await writeFile(temp, body, { flag: 'wx', mode });
      await chmod(temp, mode); // the umask may have taken bits the mode asked for
      if (this.fsync) await syncFile(temp);
      await rename(temp, target);
      return result;
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw translateFsError(err);
    }
  }

  async get(key: string, range?: ByteRange): Promise<StoredObject> {
    return this.read(key, range, false);
  }

  /** Like get, but only objects stored with `public: true`: for the `/uploads/…` route. */
  async getPublic(key: string, range?: ByteRange): Promise<StoredObject> {
    return this.read(key, range, true);
  }

  async head(key: string): Promise<ObjectHead | null> {
    const file = this.pathOf(key);
    let info: Stats;
    try {
      info = await stat(file);
    } catch (err) {
      if (isMissing(err)) return null;
      throw translateFsError(err);
    }
    if (!info.isFile()) return null;
    return { size: info.size, contentType: contentTypeOf(key) };
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.pathOf(key));
    } catch (err) {
      if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'EPERM') return; // EPERM: a folder
      throw translateFsError(err);
    }
  }

  async *list(prefix = ''): AsyncIterable<ListedObject> {
    assertObjectPrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const base = slash > 0 ? prefix.slice(0, slash) : '';
    yield* this.walk(base ? this.pathOf(base) : this.root, base, prefix);
  }

  publicUrl(key: string): string {
    assertObjectKey(key);
    return `${this.publicBase}/${encodeKeyForUrl(key)}`;
  }

  async signedDownloadUrl(key: string): Promise<string | null> {
    assertObjectKey(key);
    return null; // the app streams local files itself
  }

  private async read(key: string, range: ByteRange | undefined, publicOnly: boolean): Promise<StoredObject> {
    const file = this.pathOf(key);
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (err) {
      if (isMissing(err)) throw new ObjectNotFoundError(key);
      throw translateFsError(err);
    }
    try {
      const info = await handle.stat();
      if (!info.isFile() || (publicOnly && (info.mode & 0o004) === 0)) throw new ObjectNotFoundError(key);
      const served = range ? clampRange(range, info.size) : null;
      const stream = handle.createReadStream(served ? { start: served.start, end: served.end } : {});
      return {
        stream,
        size: info.size,
        contentType: contentTypeOf(key),
        range: served,
        contentLength: served ? served.end - served.start + 1 : info.size,
      };
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw isMissing(err) ? new ObjectNotFoundError(key) : translateFsError(err);
    }
  }

  private async *walk(folder: string, folderKey: string, prefix: string): AsyncIterable<ListedObject> {
    let entries;
    try {
      entries = await opendir(folder);
    } catch (err) {
      if (isMissing(err)) return;
      throw translateFsError(err);
    }
    const names: { name: string; isDirectory: boolean; isFile: boolean }[] = [];
    for await (const entry of entries) {
      // dot-names are temporary files and probes; links are never followed out of the root
      if (entry.name.startsWith('.') || entry.isSymbolicLink()) continue;
      names.push({ name: entry.name, isDirectory: entry.isDirectory(), isFile: entry.isFile() });
    }
    // S3's order: a folder sorts as its name followed by '/'
    const sortName = (e: { name: string; isDirectory: boolean }) => (e.isDirectory ? `${e.name}/` : e.name);
    names.sort((a, b) => (sortName(a) < sortName(b) ? -1 : sortName(a) > sortName(b) ? 1 : 0));
    for (const entry of names) {
      const key = folderKey ? `${folderKey}/${entry.name}` : entry.name;
      if (entry.isDirectory) {
        const inside = `${key}/`;
        if (inside.startsWith(prefix) || prefix.startsWith(inside)) yield* this.walk(path.join(folder, entry.name), key, prefix);
      } else if (entry.isFile && key.startsWith(prefix)) {
        try {
          const info = await stat(path.join(folder, entry.name));
          yield { key, size: info.size, lastModified: info.mtime };
        } catch (err) {
          if (!isMissing(err)) throw translateFsError(err); // deleted while listing
        }
      }
    }
  }
}

export function contentTypeOf(key: string): string {
  return CONTENT_TYPES[path.extname(key).toLowerCase()] ?? DEFAULT_CONTENT_TYPE;
}

async function syncFile(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

function isMissing(err: unknown): boolean {
  return MISSING_FS_CODES.has((err as NodeJS.ErrnoException | null)?.code ?? '');
}

function translateFsError(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code && UNAVAILABLE_FS_CODES.has(code) ? storageUnavailable(err) : err;
}
