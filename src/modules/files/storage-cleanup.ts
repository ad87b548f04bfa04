import type { Logger } from 'pino';
import type { ListedObject, ObjectStorage } from '../../adapters/object-storage/object-storage.js';
import type { FilesRepository } from '../../repositories/files.repository.js';
import {
  REFERENCED_PREFIXES,
  type ObjectReference,
  type ObjectReferencesRepository,
  type ReferencedPrefix,
} from '../../repositories/object-references.repository.js';
import type { DomainEvents } from '../events/domain-events.js';

export type CleanupFinding =
  | { kind: 'orphaned_object'; key: string; size: number; lastModified: Date; action: 'deleted' | 'would_delete' | 'delete_failed' }
  | { kind: 'missing_object'; key: string; reference: ObjectReference; action: 'row_deleted' | 'would_delete_row' | 'avatar_cleared' | 'would_clear_avatar' };

export interface CleanupProgress {
  /** rows checked so far, of `rowsTotal` */
  rowsChecked: number;
  rowsTotal: number;
  objectsScanned: number;
}

export interface CleanupOptions {
  /** act; otherwise only report (the default) */
  apply: boolean;
  /** objects younger than this are left alone: an upload may be between its object and its row */
  minAgeMs: number;
  /** reservations untouched this long belong to uploads that died */
  staleReservationMs: number;
  onFinding?: (finding: CleanupFinding) => void;
  onProgress?: (progress: CleanupProgress) => void;
}

export interface CleanupReport {
  applied: boolean;
  objectsScanned: number;
  rowsChecked: number;
  orphanedObjects: { count: number; bytes: number; failed: number };
  /** orphans younger than minAgeMs, left alone */
  recentObjectsSkipped: number;
  missingObjects: { files: number; avatars: number };
  staleReservations: { count: number; bytes: number };
  usageRecounted: number;
}

const BATCH = 200;

/** Byte order of the UTF-8 keys: how S3 lists and how collation "C" sorts. */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * `tessera storage cleanup`: what a crash or an outage between an object and its row left
 * behind. Walks, prefix by prefix (`avatars/`, `files/`), the object listing and the keys the
 * database refers to side by side (both in byte order), so neither has to fit in memory:
 *
 * - an object no row refers to (older than `minAgeMs`) is orphaned: deleted with `apply`;
 * - a row whose object is gone: a file row is deleted with `apply` (its quota given back, a
 *   `file.deleted` event sent); a profile's avatar is cleared (both sizes: the profile shows no
 *   avatar instead of a broken image, and a `profile.updated` event is sent).
 *
 * Every candidate is confirmed just before acting (the row looked up again, the object asked
 * for with HEAD), so uploads and deletions running meanwhile are never mistaken for either.
 * Also gives back the quota of stale reservations and recounts drifted usage.
 */
export class StorageCleanup {
  constructor(
    private readonly deps: {
      storage: ObjectStorage;
      references: ObjectReferencesRepository;
      files: FilesRepository;
      events: DomainEvents;
      /** clears a profile's avatar whose object is gone (false: it points elsewhere by now) */
      clearMissingAvatar: (userId: string, key: string) => Promise<boolean>;
      logger: Logger;
    },
  ) {}

  async run(options: CleanupOptions): Promise<CleanupReport> {
    const report: CleanupReport = {
      applied: options.apply,
      objectsScanned: 0,
      rowsChecked: 0,
      orphanedObjects: { count: 0, bytes: 0, failed: 0 },
      recentObjectsSkipped: 0,
      missingObjects: { files: 0, avatars: 0 },
      staleReservations: { count: 0, bytes: 0 },
      usageRecounted: 0,
    };
    let rowsTotal = 0;
    for (const prefix of REFERENCED_PREFIXES) rowsTotal += await this.deps.references.count(prefix);
    const progress = () => options.onProgress?.({ rowsChecked: report.rowsChecked, rowsTotal, objectsScanned: report.objectsScanned });

    for (const prefix of REFERENCED_PREFIXES) await this.walk(prefix, options, report, progress);
    progress();

    const staleBefore = new Date(Date.now() - options.staleReservationMs);
    report.staleReservations = await this.deps.files.releaseStaleReservations(staleBefore, options.apply);
    report.usageRecounted = (await this.deps.files.recountUsage(options.apply)).length;
    return report;
  }

  private async walk(prefix: ReferencedPrefix, options: CleanupOptions, report: CleanupReport, progress: () => void): Promise<void> {
    const objects = this.deps.storage.list(prefix)[Symbol.asyncIterator]();
    const references = this.referencePages(prefix)[Symbol.asyncIterator]();
    const nextObject = async () => {
      const step = await objects.next();
      if (!step.done) report.objectsScanned++;
      return step.done ? null : step.value;
    };
    const nextReference = async () => {
      const step = await references.next();
      if (!step.done) report.rowsChecked++;
      return step.done ? null : step.value;
    };
    let object = await nextObject();
    let reference = await nextReference();
    let orphans: ListedObject[] = [];
    let missing: ObjectReference[] = [];
    const minModified = Date.now() - options.minAgeMs;

    while (object || reference) {
      const order = !object ? 1 : !reference ? -1 : compareKeys(object.key, reference.key);
      if (order < 0) {
        if (object!.lastModified.getTime() > minModified) report.recentObjectsSkipped++;
        else orphans.push(object!);
        object = await nextObject();
      } else if (order > 0) {
        missing.push(reference!);
        reference = await nextReference();
      } else {
        const key = object!.key;
        while (reference && reference.key === key) reference = await nextReference();
        object = await nextObject();
      }
      if (orphans.length >= BATCH) orphans = await this.settleOrphans(orphans, options, report);
      if (missing.length >= BATCH) missing = await this.settleMissing(missing, options, report);
      progress(); // the renderer decides how often to draw
    }
    await this.settleOrphans(orphans, options, report);
    await this.settleMissing(missing, options, report);
  }

  private async *referencePages(prefix: ReferencedPrefix): AsyncIterable<ObjectReference> {
    let after = '';
    for (;;) {
      const page = await this.deps.references.page(prefix, after, 1000);
      yield* page;
      if (page.length < 1000) return;
      after = page.at(-1)!.key;
    }
  }

  private async settleOrphans(candidates: ListedObject[], options: CleanupOptions, report: CleanupReport): Promise<ListedObject[]> {
    if (candidates.length === 0) return [];
    const stillReferenced = await this.deps.references.referenced(candidates.map((c) => c.key));
    for (const object of candidates) {
      if (stillReferenced.has(object.key)) continue;
      let action: 'deleted' | 'would_delete' | 'delete_failed' = 'would_delete';
      if (options.apply) {
        try {
          await this.deps.storage.delete(object.key);
          action = 'deleted';
        } catch (err) {
          this.deps.logger.warn({ err, key: object.key }, 'orphaned object not deleted');
          action = 'delete_failed';
          report.orphanedObjects.failed++;
        }
      }
      if (action !== 'delete_failed') {
        report.orphanedObjects.count++;
        report.orphanedObjects.bytes += object.size;
      }
      options.onFinding?.({ kind: 'orphaned_object', key: object.key, size: object.size, lastModified: object.lastModified, action });
    }
    return [];
  }

  private async settleMissing(candidates: ObjectReference[], options: CleanupOptions, report: CleanupReport): Promise<ObjectReference[]> {
    for (const reference of candidates) {
      if ((await this.deps.storage.head(reference.key)) !== null) continue; // written since the listing passed it
      let action: 'row_deleted' | 'would_delete_row' | 'avatar_cleared' | 'would_clear_avatar';
      if (reference.kind === 'file' && reference.fileId) {
        report.missingObjects.files++;
        action = 'would_delete_row';
        if (options.apply) {
          const deleted = await this.deps.files.deleteById(reference.fileId);
          if (deleted) {
            action = 'row_deleted';
            await this.deps.events.publish({ type: 'file.deleted', userId: deleted.userId, data: { id: deleted.id } });
            this.deps.logger.info({ event: 'file.deleted', security_event: 'file.deleted', userId: deleted.userId, fileId: deleted.id, reason: 'object missing' }, 'security event: file.deleted');
          }
        }
      } else {
        action = 'would_clear_avatar';
        if (options.apply) {
          if (!(await this.deps.clearMissingAvatar(reference.userId, reference.key))) continue; // changed meanwhile
          action = 'avatar_cleared';
        }
        report.missingObjects.avatars++;
      }
      options.onFinding?.({ kind: 'missing_object', key: reference.key, reference, action });
    }
    return [];
  }
}
