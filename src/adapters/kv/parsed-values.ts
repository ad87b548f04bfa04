import { LRUCache } from 'lru-cache';

/**
 * JSON documents read from the key-value store, parsed once per distinct text. A hot entry
 * (the signed-in user, a profile many people look at) is read on every request, and parsing it
 * every time was a measurable share of those requests. The text is the key, so a changed
 * entry is a new key: nothing here can be stale. Values are frozen, since readers share them.
 */
export class ParsedValues<T extends object> {
  private readonly cache: LRUCache<string, T>;

  constructor(
    private readonly parse: (text: string) => T | null,
    max = 2_000,
  ) {
    this.cache = new LRUCache<string, T>({ max });
  }

  get(text: string | null): T | null {
    if (text === null) return null;
    const hit = this.cache.get(text);
    if (hit) return hit;
    const value = this.parse(text);
    if (value) this.cache.set(text, deepFreeze(value));
    return value;
  }
}

function deepFreeze<T extends object>(value: T): T {
  for (const member of Object.values(value)) {
    if (member && typeof member === 'object' && !Object.isFrozen(member)) deepFreeze(member as object);
  }
  return Object.freeze(value);
}
