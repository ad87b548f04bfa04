import type { DomainEvent } from '../events/domain-events.js';
import { profileFor, type ProfileRecord } from '../profiles/privacy.js';

/** Who holds a socket: what the privacy rules need to know about the viewer. */
export interface Viewer {
  userId: string;
  sessionId: string;
  role: 'user' | 'admin';
}

/**
 * The one place that decides what of an event a socket may see: the payload to send, or null
 * for nothing. Events carry the payload as the owner sees it (domain-events.ts), and the
 * owner's own sockets get it whole. Preferences, files and sessions concern their owner only.
 * A profile change reaches other users as the profiles module's privacy decision (`profileFor`)
 * shows them the stored profile: `profile` is that record, read once per event.
 */
export function eventDataFor(event: DomainEvent, viewer: Viewer, profile: ProfileRecord | null): Record<string, unknown> | null {
  if (viewer.userId === event.userId) return event.data;
  if (event.type !== 'profile.updated' || profile === null || profile.id !== event.userId) return null;
  const view = profileFor({ userId: viewer.userId, admin: viewer.role === 'admin' }, profile);
  return view ? { ...view } : null;
}

/** Whether anyone but the owner may be shown the event (then the profile is looked up first). */
export function reachesOthers(event: DomainEvent): boolean {
  return event.type === 'profile.updated';
}
