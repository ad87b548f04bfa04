import type { Kysely, Selectable } from 'kysely';
import type { AuditEventsTable, Database } from '../db/types.js';

export type AuditEventRow = Selectable<AuditEventsTable>;

export interface NewAuditEvent {
  event: string;
  actorUserId?: string | null;
  userId?: string | null;
  clientId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  details?: Record<string, unknown>;
}

/** An event's column values (also for statements that insert it along with other writes). */
export function auditEventColumns(e: NewAuditEvent) {
  return {
    event: e.event,
    actor_user_id: e.actorUserId ?? null,
    user_id: e.userId ?? null,
    client_id: e.clientId ?? null,
    ip: e.ip ?? null,
    user_agent: e.userAgent?.slice(0, 512) ?? null,
    details: JSON.stringify(e.details ?? {}),
  };
}

export class AuditEventsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(e: NewAuditEvent): Promise<void> {
    await this.db.insertInto('audit_events').values(auditEventColumns(e)).execute();
  }

  /** Newest first, for one user or all. */
  list(filter: { userId?: string; event?: string; limit?: number } = {}): Promise<AuditEventRow[]> {
    let q = this.db.selectFrom('audit_events').selectAll();
    if (filter.userId) q = q.where('user_id', '=', filter.userId);
    if (filter.event) q = q.where('event', '=', filter.event);
    return q.orderBy('occurred_at', 'desc').limit(filter.limit ?? 100).execute();
  }
}
