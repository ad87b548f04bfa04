import type { KeyValueStore } from '../../adapters/kv/kv-store.js';

/**
 * What happened, for the realtime channel (SPEC "Realtime"). Services publish; the realtime
 * module subscribes on every instance and delivers each event only to the sockets allowed
 * to see it. Through the key-value store's pub/sub: Redis across instances, memory embedded.
 */
export type DomainEventType = 'session.revoked' | 'profile.updated' | 'preferences.updated' | 'file.created' | 'file.deleted';

export interface DomainEvent {
  type: DomainEventType;
  /** the user the event is about (the owner of the profile, file or session) */
  userId: string;
  /** the session concerned (session.revoked) */
  sessionId?: string;
  /** the payload as the owner may see it; the realtime module filters it for others */
  data: Record<string, unknown>;
  /** ISO time it happened */
  at: string;
}

export const DOMAIN_EVENTS_CHANNEL = 'events';

export interface DomainEvents {
  publish(event: Omit<DomainEvent, 'at'> & { at?: string }): Promise<void>;
  subscribe(handler: (event: DomainEvent) => void): Promise<() => Promise<void>>;
}

export function createDomainEvents(kv: KeyValueStore, onError: (err: unknown) => void, onPublish?: (event: DomainEvent) => void): DomainEvents {
  return {
    async publish(event) {
      const full: DomainEvent = { ...event, at: event.at ?? new Date().toISOString() };
      onPublish?.(full);
      // An event is a notification, not the record: losing one must never fail the request.
      await kv.publish(DOMAIN_EVENTS_CHANNEL, JSON.stringify(full)).catch(onError);
    },
    subscribe(handler) {
      return kv.subscribe(DOMAIN_EVENTS_CHANNEL, (message) => {
        try {
          handler(JSON.parse(message) as DomainEvent);
        } catch (err) {
          onError(err);
        }
      });
    },
  };
}
