import type { Logger } from 'pino';
import type { AuditEventsRepository, NewAuditEvent } from '../../repositories/audit-events.repository.js';

/** Where a request came from: what security events record besides who. */
export interface RequestContext {
  ip: string | null;
  userAgent: string | null;
}

export const NO_REQUEST: RequestContext = { ip: null, userAgent: null };

export type SecurityEvent =
  | 'user.registered'
  | 'login.succeeded'
  | 'login.failed'
  | 'account.locked'
  | 'refresh_token.reused'
  | 'session.revoked'
  | 'service_token.revoked'
  | 'sessions.revoked_all'
  | 'password.changed'
  | 'password.reset'
  | 'password.reset_requested'
  | 'email.verified'
  | 'client_credentials.failed'
  | 'admin.user_created'
  | 'admin.user_locked'
  | 'admin.user_unlocked'
  | 'admin.sessions_revoked'
  | 'admin.client_created'
  | 'admin.client_deleted'
  | 'keys.rotated';

/**
 * Every security event goes to the audit_events table and to the log as one structured entry
 * (`security_event`). Callers pass ids and reasons only: never a password, token or secret.
 */
export class SecurityAudit {
  constructor(
    private readonly repo: AuditEventsRepository,
    private readonly logger: Logger,
  ) {}

  async record(event: SecurityEvent, fields: Omit<NewAuditEvent, 'event' | 'ip' | 'userAgent'>, context: RequestContext): Promise<void> {
    this.log(event, fields, context);
    await this.repo.insert(this.entry(event, fields, context));
  }

  /** The audit row of an event, for a caller that writes it in its own statement (then calls `log`). */
  entry(event: SecurityEvent, fields: Omit<NewAuditEvent, 'event' | 'ip' | 'userAgent'>, context: RequestContext): NewAuditEvent {
    return { event, ...fields, ip: context.ip, userAgent: context.userAgent };
  }

  /** The log entry of an event (`record` writes it and the row). */
  log(event: SecurityEvent, fields: Omit<NewAuditEvent, 'event' | 'ip' | 'userAgent'>, context: RequestContext): void {
    const level = event === 'refresh_token.reused' || event === 'account.locked' ? 'warn' : 'info';
    this.logger[level](
      {
        security_event: event,
        user_id: fields.userId ?? undefined,
        actor_user_id: fields.actorUserId ?? undefined,
        client_id: fields.clientId ?? undefined,
        ip: context.ip ?? undefined,
        ...(fields.details ? { details: fields.details } : {}),
      },
      `security event: ${event}`,
    );
  }
}
