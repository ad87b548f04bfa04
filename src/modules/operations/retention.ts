import type { Logger } from 'pino';
import type { RetentionRepository } from '../../repositories/retention.repository.js';

export interface RetentionSettings {
  /** how often `start` runs it; 0: never (run `runOnce` yourself) */
  intervalMinutes: number;
  /** ended sessions (expired or signed out) are kept this long, then deleted with their refresh tokens */
  sessionDays: number;
  /** audit events are kept this long; 0: forever */
  auditDays: number;
}

export type RetentionReport = Record<'refresh_tokens' | 'sessions' | 'email_tokens' | 'service_token_revocations' | 'audit_events', number>;

const DAY_MS = 86_400_000;
// Small statements, so the embedded database (on the main thread) never stalls requests for
// long, and a run has a bound: what is left goes at the next run.
const BATCH = 1_000;
const MAX_BATCHES_PER_TABLE = 50;
// An expired refresh token or e-mail link is kept a day longer: its refusal is still explained
// as "expired" in that time, and clocks between instances never matter.
const EXPIRED_GRACE_MS = DAY_MS;

/**
 * Retention: what the database would otherwise keep for ever. Every rotation writes a refresh
 * token row, every sign-in a session, every security event an audit row; this deletes
 *   - refresh tokens a day after they expired (an expired token is refused whatever its
 *     state, so it no longer serves reuse detection either);
 *   - sessions SESSION_RETENTION_DAYS (30) after they ended, expired or signed out, with their
 *     refresh tokens; the revocation list only replays the last token lifetime of them;
 *   - e-mail links (verify, reset) a day after they expired, used or not;
 *   - service-token revocations (RFC 7009) a day after their token expired;
 *   - audit events after AUDIT_RETENTION_DAYS (seed 004: audit logs a year; 0 keeps them).
 * `serve` runs it every RETENTION_INTERVAL_MINUTES (60), first a minute after start. Instances
 * may run it at once: deletes are idempotent, one waits on the other's rows.
 */
export class Retention {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<RetentionReport> | null = null;

  constructor(
    private readonly repository: RetentionRepository,
    private readonly settings: RetentionSettings,
    private readonly logger: Logger,
    private readonly onDeleted: (table: keyof RetentionReport, rows: number) => void = () => undefined,
  ) {}

  /** One pass over every table (shared by concurrent callers). */
  runOnce(now = new Date()): Promise<RetentionReport> {
    this.running ??= this.pass(now).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pass(now: Date): Promise<RetentionReport> {
    const expired = new Date(now.getTime() - EXPIRED_GRACE_MS);
    const ended = new Date(now.getTime() - this.settings.sessionDays * DAY_MS);
    const report: RetentionReport = {
      refresh_tokens: await this.drain((limit) => this.repository.deleteExpiredRefreshTokens(expired, limit)),
      sessions: await this.drain((limit) => this.repository.deleteEndedSessions(ended, limit)),
      email_tokens: await this.drain((limit) => this.repository.deleteExpiredEmailTokens(expired, limit)),
      service_token_revocations: await this.drain((limit) => this.repository.deleteExpiredServiceTokenRevocations(expired, limit)),
      audit_events:
        this.settings.auditDays > 0 ? await this.drain((limit) => this.repository.deleteAuditEventsBefore(new Date(now.getTime() - this.settings.auditDays * DAY_MS), limit)) : 0,
    };
    for (const [table, rows] of Object.entries(report) as [keyof RetentionReport, number][]) if (rows) this.onDeleted(table, rows);
    if (Object.values(report).some((n) => n > 0)) this.logger.info({ deleted: report }, 'retention: old rows deleted');
    return report;
  }

  private async drain(batch: (limit: number) => Promise<number>): Promise<number> {
    let total = 0;
    for (let i = 0; i < MAX_BATCHES_PER_TABLE; i++) {
      const n = await batch(BATCH);
      total += n;
      if (n < BATCH) break;
    }
    return total;
  }

  /** Runs it now and then (first a minute from now); a failed run is logged and tried again at the next. */
  start(): void {
    if (this.settings.intervalMinutes <= 0 || this.timer) return;
    const schedule = (ms: number) => {
      this.timer = setTimeout(() => {
        this.runOnce()
          .catch((err: unknown) => this.logger.warn({ err }, 'retention run failed; trying again at the next'))
          .finally(() => {
            // ±10 %: instances started together do not run together for ever.
            if (this.timer) schedule(this.settings.intervalMinutes * 60_000 * (0.9 + Math.random() * 0.2));
          });
      }, ms);
      this.timer.unref();
    };
    schedule(60_000);
  }

  /** Stops the schedule and waits for a run in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }
}
