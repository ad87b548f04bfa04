import type { Logger } from 'pino';
import type { KeyValueStore } from '../../adapters/kv/kv-store.js';
import type { Config } from '../../config/index.js';
import type { Metrics } from '../../metrics.js';
import type { DomainEvents } from '../events/domain-events.js';
import type { ProfileRecord } from '../profiles/privacy.js';
import { DEFAULT_REALTIME_OPTIONS, RealtimeHub } from './realtime-hub.js';
import { TicketService } from './tickets.js';

export interface RealtimeDependencies {
  config: Readonly<Config>;
  logger: Logger;
  metrics: Metrics;
  kv: KeyValueStore;
  events: DomainEvents;
  /** the profiles module's stored profile (privacy included), to filter profile.updated for other users */
  profileRecord: (userId: string) => Promise<ProfileRecord | null>;
  /** of these session ids, those still live (the sessions table) */
  liveSessions: (sessionIds: readonly string[]) => Promise<string[]>;
}

/** The realtime channel's services, wired once (the container holds the result). */
export function createRealtimeModule(deps: RealtimeDependencies) {
  const hub = new RealtimeHub(deps, { ...DEFAULT_REALTIME_OPTIONS, maxConnectionsPerUser: deps.config.realtime.maxConnectionsPerUser });
  return {
    hub,
    tickets: new TicketService(deps.kv),
    /** Before serving: subscribe to the event bus and start heartbeats and revocation checks. */
    start: () => hub.start(),
    /** Closes this instance's sockets (1001) and leaves the bus. */
    close: () => hub.stop(),
  };
}

export type RealtimeModule = ReturnType<typeof createRealtimeModule>;
