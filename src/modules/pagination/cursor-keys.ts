import { deriveCursorKey, newCursorSecret, type CursorKey } from './cursor.js';

export interface CursorSecretStore {
  getOrCreate(key: string, candidate: string): Promise<string>;
}

const STORED_SECRET_KEY = 'cursor_secret';

/**
 * Cursor keys every instance shares: derived from SECRET_KEY / JWT_SECRET_KEY when one is set,
 * otherwise from a random secret made once per installation and kept in `tessera_meta`, so
 * cursors survive restarts and work across instances without any configuration.
 */
export class CursorKeys {
  private secret: Promise<string> | null;
  private readonly keys = new Map<string, CursorKey>();

  constructor(
    configuredSecret: string | null,
    private readonly store: CursorSecretStore,
  ) {
    this.secret = configuredSecret ? Promise.resolve(configuredSecret) : null;
  }

  async forList(purpose: string): Promise<CursorKey> {
    const known = this.keys.get(purpose);
    if (known) return known;
    this.secret ??= this.store.getOrCreate(STORED_SECRET_KEY, newCursorSecret()).catch((err: unknown) => {
      this.secret = null; // try again on the next request
      throw err;
    });
    const key = deriveCursorKey(await this.secret, purpose);
    this.keys.set(purpose, key);
    return key;
  }
}
