import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import type { KeyValueStore } from '../../adapters/kv/kv-store.js';
import type { Metrics } from '../../metrics.js';
import { revokedSessionKey } from '../auth/revocation.js';
import type { DomainEvent, DomainEvents } from '../events/domain-events.js';
import type { ProfileRecord } from '../profiles/privacy.js';
import { ConnectionSlots, type ConnectionSlot } from './connection-slots.js';
import { CLOSE, Connection, type ConnectionLimits } from './connection.js';
import { eventDataFor, reachesOthers, type Viewer } from './event-audience.js';

export interface RealtimeOptions extends ConnectionLimits {
  /** WS_MAX_CONNECTIONS_PER_USER, counted across instances */
  maxConnectionsPerUser: number;
  /** ping every socket this often; one missed pong and it is cut off */
  heartbeatMs: number;
  /** how often this instance asks the store whether the sessions it holds sockets for were revoked */
  revocationCheckMs: number;
  /** sockets outlive a store that can't say whether their session was revoked at most this long */
  revocationGraceMs: number;
  /** how often this instance asks the database whether those sessions ended (expired, revoked or deleted) */
  sessionCheckMs: number;
}

export const DEFAULT_REALTIME_OPTIONS: Omit<RealtimeOptions, 'maxConnectionsPerUser'> = {
  heartbeatMs: 30_000,
  revocationCheckMs: 500,
  revocationGraceMs: 30_000,
  sessionCheckMs: 60_000,
  maxBufferedBytes: 256 * 1024,
  maxFramesPerSecond: 20,
  closeGraceMs: 1_000,
};

export interface HubDependencies {
  kv: KeyValueStore;
  events: DomainEvents;
  metrics: Metrics;
  logger: Logger;
  /** the stored profile with its privacy settings (the profiles module), for profile.updated */
  profileRecord: (userId: string) => Promise<ProfileRecord | null>;
  /** of these session ids, those still live in the database */
  liveSessions: (sessionIds: readonly string[]) => Promise<string[]>;
}

/** sessions asked about in one read (the revocation list, the database) */
const SESSION_BATCH = 500;

/**
 * This instance's sockets, and the relay that feeds them: every instance subscribes to the
 * domain-event bus (Redis pub/sub, or memory when embedded) and delivers each event to the
 * sockets it holds that may see it. Nothing here is shared between instances except through
 * the key-value store (tickets, connection slots, revocations), so instances stay stateless.
 *
 * A socket never outlives its session: a `session.revoked` event closes it at once, and a
 * batched check of the revocation list every `revocationCheckMs` closes it even when the
 * event was lost (a pub/sub reconnect) or never published. A session can also end without a
 * revocation: it expires (REFRESH_TOKEN_EXPIRE_DAYS after its last refresh) or is deleted; a
 * batched database check every `sessionCheckMs` closes those sockets (4001, "session ended").
 */
export class RealtimeHub {
  private readonly all = new Set<Connection>();
  private readonly byUser = new Map<string, Set<Connection>>();
  private readonly bySession = new Map<string, Set<Connection>>();
  private readonly slots: ConnectionSlots;
  private readonly log: Logger;
  private unsubscribe: (() => Promise<void>) | null = null;
  private timers: NodeJS.Timeout[] = [];
  private checking = false;
  private checkingSessions = false;
  private revocationVerifiedAt = Date.now();
  private storeWarnedAt = 0;

  constructor(
    private readonly deps: HubDependencies,
    readonly options: RealtimeOptions,
  ) {
    this.slots = new ConnectionSlots(deps.kv, options.maxConnectionsPerUser, options.heartbeatMs * 3);
    this.log = deps.logger.child({ component: 'realtime' });
  }

  get connectionCount(): number {
    return this.all.size;
  }

  async start(): Promise<void> {
    if (this.unsubscribe) return;
    this.unsubscribe = await this.deps.events.subscribe((event) => this.deliver(event));
    this.revocationVerifiedAt = Date.now();
    this.timers = [
      setInterval(() => this.heartbeat(), this.options.heartbeatMs),
      setInterval(() => void this.checkRevocations(), this.options.revocationCheckMs),
      setInterval(() => void this.checkSessionsEnded(), this.options.sessionCheckMs),
    ];
    for (const t of this.timers) t.unref();
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.closeAll(CLOSE.goingAway, 'server shutting down');
    await this.unsubscribe?.().catch(() => undefined);
    this.unsubscribe = null;
  }

  /** A place under the per-user cap, or null when the user is at it. Throws when the store can't answer. */
  reserveSlot(userId: string): Promise<ConnectionSlot | null> {
    return this.slots.acquire(userId);
  }

  releaseSlot(slot: ConnectionSlot): void {
    this.slots.release(slot).catch((err: unknown) => this.log.debug({ err }, 'connection slot not released; it expires by itself'));
  }

  /** True when the session was signed out. Throws when the store can't answer (callers refuse). */
  async isSessionRevoked(sessionId: string): Promise<boolean> {
    return (await this.deps.kv.get(revokedSessionKey(sessionId))) !== null;
  }

  /** Takes over an upgraded socket. The slot is released by the caller when the socket is gone. */
  attach(socket: WebSocket, viewer: Viewer, slot: ConnectionSlot): Connection {
    const conn = new Connection(socket, viewer, slot, this.options);
    this.all.add(conn);
    addTo(this.byUser, viewer.userId, conn);
    addTo(this.bySession, viewer.sessionId, conn);
    this.deps.metrics.wsConnections.inc();
    socket.on('message', (data, isBinary) => this.onClientFrame(conn, data, isBinary));
    socket.once('close', () => this.detach(conn));
    return conn;
  }

  private detach(conn: Connection): void {
    if (!this.all.delete(conn)) return;
    removeFrom(this.byUser, conn.viewer.userId, conn);
    removeFrom(this.bySession, conn.viewer.sessionId, conn);
    this.deps.metrics.wsConnections.dec();
  }

  /** Clients have nothing to say but an application-level ping; anything that isn't JSON ends the socket. */
  private onClientFrame(conn: Connection, data: RawData, isBinary: boolean): void {
    if (!conn.countFrame()) return conn.close(CLOSE.policyViolation, 'too many frames');
    if (isBinary) return conn.close(CLOSE.unsupportedData, 'JSON text frames only');
    let message: unknown;
    try {
      message = JSON.parse(rawText(data));
    } catch {
      return conn.close(CLOSE.unsupportedData, 'JSON text frames only');
    }
    if (typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'ping') {
      conn.send(JSON.stringify({ type: 'pong', data: {}, at: new Date().toISOString() }));
    }
  }

  /**
   * One event from the bus to every local socket allowed to see it. The owner's sockets get it
   * at once, in order; other users' (profile changes) once the profile has been looked up.
   */
  deliver(event: DomainEvent): void {
    const at = Date.parse(event.at);
    if (Number.isFinite(at)) this.deps.metrics.pubsubLag.observe(Math.max(0, Date.now() - at) / 1000);
    this.send(event, this.byUser.get(event.userId) ?? [], null);
    if (event.type === 'session.revoked' && event.sessionId) this.endSession(event.sessionId, event.at);
    if (reachesOthers(event) && this.all.size > (this.byUser.get(event.userId)?.size ?? 0)) {
      this.deps
        .profileRecord(event.userId)
        .then((profile) => {
          const others = [...this.all].filter((c) => c.viewer.userId !== event.userId);
          this.send(event, others, profile);
        })
        // Nobody but the owner sees a profile whose privacy settings can't be read.
        .catch((err: unknown) => this.log.warn({ err, type: event.type }, 'profile not readable: event delivered to its owner only'));
    }
  }

  private send(event: DomainEvent, targets: Iterable<Connection>, profile: ProfileRecord | null): void {
    // What a viewer sees depends only on being the owner and on their role: one serialisation each.
    const texts = new Map<string, string | null>();
    let delivered = 0;
    for (const conn of targets) {
      const audience = conn.viewer.userId === event.userId ? 'owner' : conn.viewer.role;
      let text = texts.get(audience);
      if (text === undefined) {
        const data = eventDataFor(event, conn.viewer, profile);
        text = data === null ? null : JSON.stringify({ type: event.type, data, at: event.at });
        texts.set(audience, text);
      }
      if (text !== null && conn.send(text)) delivered += 1;
    }
    if (delivered) this.deps.metrics.eventsDelivered.inc({ type: event.type }, delivered);
  }

  /** Tells the session's sockets they are signed out (unless the event already did), then closes them. */
  private endSession(sessionId: string, at: string): void {
    const conns = this.bySession.get(sessionId);
    if (!conns) return;
    const text = JSON.stringify({ type: 'session.revoked', data: { session_id: sessionId }, at });
    let delivered = 0;
    for (const conn of [...conns]) {
      if (conn.send(text)) delivered += 1;
      conn.close(CLOSE.sessionRevoked, 'session revoked');
    }
    if (delivered) this.deps.metrics.eventsDelivered.inc({ type: 'session.revoked' }, delivered);
  }

  /** The sessions this instance holds sockets for, as of now, in batches of SESSION_BATCH. */
  private *sessionBatches(): Generator<string[]> {
    const sessions = [...this.bySession.keys()];
    for (let i = 0; i < sessions.length; i += SESSION_BATCH) yield sessions.slice(i, i + SESSION_BATCH);
  }

  /**
   * One batched read of the revocation list for every session this instance holds sockets for.
   * While the store can't answer, sockets stay (they receive nothing anyway) for at most
   * `revocationGraceMs`; after that they are closed with 1013 and reconnect once it is back.
   */
  async checkRevocations(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      for (const batch of this.sessionBatches()) {
        const values = await this.deps.kv.getMany(batch.map(revokedSessionKey));
        const now = new Date().toISOString();
        batch.forEach((sid, j) => {
          if (values[j] !== null) this.endSession(sid, now);
        });
      }
      this.revocationVerifiedAt = Date.now();
    } catch (err) {
      const unverifiedMs = Date.now() - this.revocationVerifiedAt;
      if (Date.now() - this.storeWarnedAt > 10_000) {
        this.storeWarnedAt = Date.now();
        this.log.warn({ err, unverifiedMs }, 'session revocations cannot be checked: the key-value store is not answering');
      }
      if (unverifiedMs > this.options.revocationGraceMs) {
        for (const conn of [...this.all]) conn.close(CLOSE.tryAgainLater, 'session state cannot be verified; reconnect later');
      }
    } finally {
      this.checking = false;
    }
  }

  /**
   * One batched database read for the sessions this instance holds sockets for: the sockets of
   * a session that ended without a revocation (expired, or deleted) are closed with 4001. A
   * database that does not answer closes nothing; the next check asks again.
   */
  async checkSessionsEnded(): Promise<void> {
    if (this.checkingSessions) return;
    this.checkingSessions = true;
    try {
      for (const batch of this.sessionBatches()) {
        const live = new Set(await this.deps.liveSessions(batch));
        for (const sid of batch) {
          if (live.has(sid)) continue;
          for (const conn of [...(this.bySession.get(sid) ?? [])]) conn.close(CLOSE.sessionRevoked, 'session ended');
        }
      }
    } catch (err) {
      this.log.warn({ err }, 'sessions of open sockets not checked: the database is not answering');
    } finally {
      this.checkingSessions = false;
    }
  }

  /** Pings every socket, cuts those that missed the last ping, and keeps the live ones' slots. */
  heartbeat(): void {
    for (const conn of [...this.all]) conn.heartbeat();
    this.slots
      .refresh([...this.all].map((c) => c.slot))
      .catch((err: unknown) => this.log.warn({ err }, 'connection slots not refreshed: the key-value store is not answering'));
  }

  /** Closes every socket and waits (at most the close grace period, plus a little) until they are gone. */
  async closeAll(code: number, reason: string): Promise<void> {
    const conns = [...this.all];
    if (conns.length === 0) return;
    const gone = conns.map((c) => new Promise<void>((resolve) => (c.socket.readyState === 3 ? resolve() : c.socket.once('close', () => resolve()))));
    for (const c of conns) c.close(code, reason);
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, this.options.closeGraceMs + 500).unref());
    await Promise.race([Promise.all(gone), deadline]);
  }
}

function addTo(index: Map<string, Set<Connection>>, key: string, conn: Connection): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(conn);
}

function removeFrom(index: Map<string, Set<Connection>>, key: string, conn: Connection): void {
  const set = index.get(key);
  set?.delete(conn);
  if (set?.size === 0) index.delete(key);
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
