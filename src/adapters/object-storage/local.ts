import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ObjectStorage } from './object-storage.js';

/** Objects as files under one root folder (DATA_DIR/uploads); nothing may resolve outside it. */
export class LocalObjectStorage implements ObjectStorage {
  readonly kind = 'local' as const;

  constructor(readonly root: string) {}

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }

  async check(): Promise<void> {
    const probe = path.join(this.root, `.ready-${randomUUID()}`);
    await writeFile(probe, '');
    await rm(probe, { force: true });
  }

  async close(): Promise<void> {}
}
