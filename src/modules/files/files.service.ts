import { randomUUID } from 'node:crypto';
import { pipeline, type Readable } from 'node:stream';
import type { Logger } from 'pino';
import { ObjectNotFoundError, type ObjectStorage, type StoredObject } from '../../adapters/object-storage/object-storage.js';
import type { Config } from '../../config/index.js';
import { AppError } from '../../errors/app-error.js';
import type { Metrics } from '../../metrics.js';
import type { FileKeyset, FileRow, FilesRepository, FileSort, SortOrder } from '../../repositories/files.repository.js';
import type { RequestContext } from '../auth/audit.js';
import type { DomainEvents } from '../events/domain-events.js';
import type { CursorKeys } from '../pagination/cursor-keys.js';
import { decodeCursor, encodeCursor, invalidCursor } from '../pagination/cursor.js';
import { isAllowedType } from './content-type.js';
import { sanitizeFileName } from './file-name.js';
import { QuotaReservation } from './quota-reservation.js';
import { UploadInspector } from './upload-inspector.js';

/** A file as its owner sees it. */
export interface FileView {
  id: string;
  name: string;
  size: number;
  content_type: string;
  sha256: string;
  created_at: string;
  updated_at: string;
}

export interface DuplicateGroupView {
  sha256: string;
  size: number;
  copies: number;
  /** bytes freed by deleting every copy but one */
  reclaimable_bytes: number;
  /** oldest first: the first is the one to keep */
  files: FileView[];
}

export interface UploadSource {
  stream: Readable;
  /** the name the client sent (multipart `filename`), unsanitised */
  filename: string | undefined;
  /** the request's Content-Length, an upper bound of the file's size; null when chunked */
  declaredBytes: number | null;
  /** true once the client has gone away */
  clientGone: () => boolean;
  /**
   * Called once the object is written, before the row: the rest of the request read and judged
   * (a second file is a 422). Throwing undoes the upload like any other failure.
   */
  beforeCommit?: () => Promise<void>;
}

export type UploadOutcome = 'created' | 'too_large' | 'quota_exceeded' | 'type_not_allowed' | 'aborted' | 'storage_unavailable' | 'rejected' | 'failed';

const MIB = 1024 * 1024;
/** how long a presigned download URL lives */
export const SIGNED_URL_SECONDS = 300;

export function fileObjectKey(userId: string, fileId: string): string {
  return `files/${userId}/${fileId}`;
}

/** newest first, largest first, A to Z */
const DEFAULT_ORDER: Record<FileSort, SortOrder> = { created_at: 'desc', size: 'desc', name: 'asc' };

interface ListCursor {
  u: string;
  s: FileSort;
  o: SortOrder;
  v: string | number;
  i: string;
}

interface DuplicatesCursor {
  u: string;
  r: number;
  h: string;
}

function sortValue(row: FileRow, sort: FileSort): string | number {
  if (sort === 'created_at') return row.createdAt.toISOString();
  return sort === 'size' ? row.size : row.name;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function toFileView(row: FileRow): FileView {
  return {
    id: row.id,
    name: row.name,
    size: row.size,
    content_type: row.contentType,
    sha256: row.sha256,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export interface FilesServiceDependencies {
  config: Readonly<Config>;
  cursorKeys: CursorKeys;
  repo: FilesRepository;
  storage: ObjectStorage;
  events: DomainEvents;
  metrics: Metrics;
  logger: Logger;
}

/**
 * Seed 002's file service: upload (streamed, typed from content, within size and quota), list,
 * read, rename, delete, usage and the duplicates ("declutter") report. A user only ever reaches
 * their own files: any other id is `not_found`, the same as one that does not exist.
 */
export class FilesService {
  readonly maxFileBytes: number;
  readonly quotaBytes: number;
  private readonly allowedTypes: readonly string[];
  private readonly reservationStepBytes: number;
  readonly staleReservationMs: number;
  private readonly repo: FilesRepository;
  private readonly storage: ObjectStorage;
  private readonly logger: Logger;

  constructor(private readonly deps: FilesServiceDependencies) {
    const { files, server } = deps.config;
    this.maxFileBytes = files.maxFileSizeMb * MIB;
    this.quotaBytes = files.userQuotaMb * MIB;
    this.allowedTypes = files.allowedTypes;
    // A sixteenth of the quota at a time, between 256 KiB and 8 MiB: few round trips, and
    // concurrent uploads near the quota hold little more than they need.
    this.reservationStepBytes = Math.min(8 * MIB, Math.max(256 * 1024, Math.floor(this.quotaBytes / 16)));
    // No upload outlives UPLOAD_TIMEOUT_MS (nor any other request REQUEST_TIMEOUT_MS): twice
    // that, and at least an hour, leaves a wide margin.
    this.staleReservationMs = Math.max(60 * 60 * 1000, 2 * Math.max(server.requestTimeoutMs, server.uploadTimeoutMs));
    this.repo = deps.repo;
    this.storage = deps.storage;
    this.logger = deps.logger;
  }

  /**
   * Streams an upload to the store and records it. The order is what keeps a failure clean:
   * quota held → type decided from the first bytes (nothing stored yet) → object written while
   * counted and hashed → row inserted with the quota settled, in one transaction. Any failure
   * on the way removes the object (if written) and gives the quota back; no row is left.
   */
  async upload(userId: string, source: UploadSource): Promise<FileView> {
    const fileId = randomUUID();
    const key = fileObjectKey(userId, fileId);
    const quota = new QuotaReservation(this.repo, userId, {
      quotaBytes: this.quotaBytes,
      capBytes: this.maxFileBytes,
      stepBytes: this.reservationStepBytes,
      staleAfterMs: this.staleReservationMs,
    });
    const inspector = new UploadInspector({ maxBytes: this.maxFileBytes, hold: (total) => quota.ensure(total) });
    let objectWritten = false;
    let sourceError: unknown = null;
    source.stream.once('error', (err) => (sourceError ??= err));
    try {
      if (source.declaredBytes) await quota.holdUpFront(source.declaredBytes);
      pipeline(source.stream, inspector, () => undefined); // errors surface through `sniffed` and put()
      const sniffed = await inspector.sniffed;
      this.assertAllowed(sniffed.type);
      const stored = await this.storage.put(key, inspector, { contentType: sniffed.type, maxBytes: this.maxFileBytes });
      objectWritten = true;
      await source.beforeCommit?.();
      const contentType = inspector.finalType();
      if (contentType !== sniffed.type) this.assertAllowed(contentType);
      const row = await this.repo.commitUpload(
        { id: fileId, userId, name: sanitizeFileName(source.filename), size: stored.size, contentType, sha256: stored.sha256, objectKey: key },
        quota.id,
        this.quotaBytes,
      );
      if (!row) throw new AppError('quota_exceeded', { detail: `Your files may take ${this.quotaBytes} bytes in all; this one does not fit` });
      this.deps.metrics.fileUploads.inc({ outcome: 'created' });
      const view = toFileView(row);
      await this.deps.events.publish({ type: 'file.created', userId, data: { file: view } });
      return view;
    } catch (err) {
      inspector.destroy();
      source.stream.destroy(); // stop reading (already done when the pipeline failed)
      if (objectWritten) await this.removeObject(key, 'upload failed after its object was written');
      await quota.release().catch((releaseErr: unknown) => this.logger.warn({ err: releaseErr, userId }, 'quota reservation not released; it expires by itself'));
      const outcome = uploadOutcome(err, source.clientGone());
      this.deps.metrics.fileUploads.inc({ outcome });
      if (outcome === 'aborted') throw new AppError('bad_request', { detail: 'The upload ended before the whole file arrived', cause: err });
      // The multipart parser's own complaints (a part cut short, a malformed header) are the client's.
      if (sourceError !== null && !(err instanceof AppError) && !hasClientStatus(err)) {
        throw new AppError('bad_request', { detail: 'The multipart body is malformed', cause: err });
      }
      throw err;
    }
  }

  /** GET /files: one page in a stable order (sort column, then id), continued by an opaque cursor. */
  async list(userId: string, input: { sort: FileSort; order?: SortOrder | undefined; cursor?: string | undefined; limit: number }) {
    const sort = input.sort;
    const order = input.order ?? DEFAULT_ORDER[sort];
    const key = await this.deps.cursorKeys.forList('files');
    let after: FileKeyset | null = null;
    if (input.cursor) {
      const c = decodeCursor<ListCursor>(input.cursor, key);
      // A cursor continues the listing it came from: same user, same order.
      const valueOk = sort === 'size' ? Number.isSafeInteger(c.v) : typeof c.v === 'string';
      if (c.u !== userId || c.s !== sort || c.o !== order || !valueOk || typeof c.i !== 'string' || !UUID.test(c.i)) throw invalidCursor();
      after = { value: c.v, id: c.i };
    }
    const rows = await this.repo.list(userId, { sort, order, after, limit: input.limit + 1 });
    const page = rows.slice(0, input.limit);
    const last = page.at(-1);
    const next =
      rows.length > input.limit && last
        ? encodeCursor({ u: userId, s: sort, o: order, v: sortValue(last, sort), i: last.id } satisfies ListCursor, key)
        : null;
    return { items: page.map(toFileView), next_cursor: next };
  }

  async get(userId: string, id: string): Promise<FileView> {
    return toFileView(await this.find(userId, id));
  }

  async rename(userId: string, id: string, name: string): Promise<FileView> {
    this.assertId(id);
    const row = await this.repo.rename(userId, id, sanitizeFileName(name));
    if (!row) throw notFound();
    return toFileView(row);
  }

  /** Row first, then the object (a failure in between leaves an orphan for `storage cleanup`, never a dangling row). */
  async delete(userId: string, id: string, context: RequestContext): Promise<void> {
    this.assertId(id);
    const row = await this.repo.delete(userId, id);
    if (!row) throw notFound();
    // seed 002: file deletions are security-logged. Ids only: never the name.
    this.logger.info({ event: 'file.deleted', security_event: 'file.deleted', userId, fileId: id, ip: context.ip ?? undefined }, 'security event: file.deleted');
    await this.removeObject(row.objectKey, 'file deleted');
    await this.deps.events.publish({ type: 'file.deleted', userId, data: { id } });
  }

  async usage(userId: string): Promise<{ used_bytes: number; quota_bytes: number; count: number }> {
    const usage = await this.repo.usage(userId);
    return { used_bytes: usage.usedBytes, quota_bytes: this.quotaBytes, count: usage.count };
  }

  /** GET /files/duplicates: groups of the user's files with identical content, the most space to win first. */
  async duplicates(userId: string, input: { cursor?: string | undefined; limit: number }) {
    const key = await this.deps.cursorKeys.forList('files-duplicates');
    let after: { reclaimable: number; sha256: string } | null = null;
    if (input.cursor) {
      const c = decodeCursor<DuplicatesCursor>(input.cursor, key);
      if (c.u !== userId || !Number.isSafeInteger(c.r) || typeof c.h !== 'string' || !/^[0-9a-f]{64}$/.test(c.h)) throw invalidCursor();
      after = { reclaimable: c.r, sha256: c.h };
    }
    const groups = await this.repo.duplicateGroups(userId, after, input.limit + 1);
    const page = groups.slice(0, input.limit);
    const files = await this.repo.withHashes(
      userId,
      page.map((g) => g.sha256),
    );
    const items: DuplicateGroupView[] = page.map((g) => ({
      sha256: g.sha256,
      size: g.size,
      copies: g.copies,
      reclaimable_bytes: g.reclaimableBytes,
      files: files.filter((f) => f.sha256 === g.sha256).map(toFileView),
    }));
    const last = page.at(-1);
    const next = groups.length > input.limit && last ? encodeCursor({ u: userId, r: last.reclaimableBytes, h: last.sha256 } satisfies DuplicatesCursor, key) : null;
    const totals = await this.repo.duplicateTotals(userId);
    return { items, next_cursor: next, group_count: totals.groups, reclaimable_bytes: totals.reclaimableBytes };
  }

  /** A short-lived presigned URL when the store has them (S3); null when the app serves the bytes. */
  async signedDownloadUrl(userId: string, file: FileView): Promise<string | null> {
    return this.storage.signedDownloadUrl(fileObjectKey(userId, file.id), {
      expiresInSeconds: SIGNED_URL_SECONDS,
      filename: file.name,
      contentType: file.content_type,
    });
  }

  /** The file's bytes (or a range of them) from the store. */
  async openContent(userId: string, file: FileView, range: { start: number; end: number } | null): Promise<StoredObject> {
    try {
      return await this.storage.get(fileObjectKey(userId, file.id), range ?? undefined);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) {
        this.logger.error({ userId, fileId: file.id }, 'file row without its object; run `tessera storage cleanup`');
        throw notFound();
      }
      throw err;
    }
  }

  private async find(userId: string, id: string): Promise<FileRow> {
    this.assertId(id);
    const row = await this.repo.find(userId, id);
    if (!row) throw notFound();
    return row;
  }

  private assertId(id: string): void {
    if (!UUID.test(id)) throw notFound();
  }

  private assertAllowed(type: string): void {
    if (!isAllowedType(type, this.allowedTypes)) {
      throw new AppError('file_type_not_allowed', {
        detail: `The content is ${type}; allowed: ${this.allowedTypes.join(', ')} (ALLOWED_FILE_TYPES)`,
        extra: { content_type: type },
      });
    }
  }

  private async removeObject(key: string, why: string): Promise<void> {
    await this.storage.delete(key).catch((err: unknown) => this.logger.warn({ err, key, why }, 'object not removed; `tessera storage cleanup` will find it'));
  }
}

function hasClientStatus(err: unknown): boolean {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}

function notFound(): AppError {
  return new AppError('not_found', { detail: 'No such file' });
}

function uploadOutcome(err: unknown, clientGone: boolean): UploadOutcome {
  if (clientGone) return 'aborted';
  if (!(err instanceof AppError)) return 'failed';
  switch (err.code) {
    case 'payload_too_large':
      return 'too_large';
    case 'quota_exceeded':
      return 'quota_exceeded';
    case 'file_type_not_allowed':
      return 'type_not_allowed';
    case 'storage_unavailable':
      return 'storage_unavailable';
    default:
      return err.status >= 500 ? 'failed' : 'rejected';
  }
}
