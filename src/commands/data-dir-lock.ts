import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The embedded database belongs to one process. `serve` (and any command opening it) holds
 * DATA_DIR/tessera.pid; another process finding a live holder refuses, naming it.
 */
export class DataDirBusyError extends Error {
  constructor(
    readonly pid: number,
    readonly holder: string,
    dataDir: string,
  ) {
    super(`the embedded database in ${dataDir} is in use by process ${pid} (${holder}); stop it first, or run this against a PostgreSQL DATABASE_URL`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function acquireDataDirLock(dataDir: string, holder: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'tessera.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, JSON.stringify({ pid: process.pid, holder, since: new Date().toISOString() }), { flag: 'wx' });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let info: { pid?: number; holder?: string } = {};
      try {
        info = JSON.parse(readFileSync(file, 'utf8')) as typeof info;
      } catch {
        // unreadable: treat as stale
      }
      if (typeof info.pid === 'number' && info.pid !== process.pid && alive(info.pid)) {
        throw new DataDirBusyError(info.pid, info.holder ?? 'tessera', dataDir);
      }
      rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`could not lock ${dataDir}`);
}
