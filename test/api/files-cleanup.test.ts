import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/modules/events/domain-events.js';
import type { CleanupFinding } from '../../src/modules/files/storage-cleanup.js';
import { AUTH_TEST_ENV, bearer, signedInUser, type SignedIn } from '../helpers/auth.js';
import { runCli } from '../helpers/cli.js';
import { pngBytes, uploadFile, type FileBody } from '../helpers/files.js';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

describe(`storage cleanup (${BACKEND})`, () => {
  let t: TestApp;
  let user: SignedIn;
  let kept: FileBody;
  let lost: FileBody;
  const orphanKeys = [`files/${randomUUID()}/${randomUUID()}`];
  let avatarKey: string;
  let orphanAvatar: string;
  let missingAvatar: string;
  const events: DomainEvent[] = [];

  beforeAll(async () => {
    t = await createTestApp({ env: AUTH_TEST_ENV });
    await t.container.events.subscribe((e) => events.push(e));
    user = await signedInUser(t);
    kept = (await uploadFile(t, user.accessToken, pngBytes(1000), 'kept.png')).json<FileBody>();
    lost = (await uploadFile(t, user.accessToken, pngBytes(700), 'lost.png')).json<FileBody>();
    const { storage } = t.container;
    // a crash after the object, before the row
    orphanKeys.push(`files/${user.id}/${randomUUID()}`);
    for (const key of orphanKeys) await storage.put(key, Buffer.from('orphan'), { contentType: 'application/octet-stream' });
    // an object lost behind its row
    await storage.delete(`files/${user.id}/${lost.id}`);
    // avatars: one in use, one left behind, one whose object is gone
    const hash = createHash('sha256').update(user.id).digest('hex');
    avatarKey = `avatars/${user.id}/${hash}-800.webp`;
    orphanAvatar = `avatars/${user.id}/${'0'.repeat(64)}-800.webp`;
    missingAvatar = `avatars/${user.id}/${hash}-200.webp`;
    for (const key of [avatarKey, orphanAvatar]) await storage.put(key, Buffer.from('webp'), { contentType: 'image/webp', public: true });
    await sql`update users set avatar_key = ${avatarKey}, avatar_thumbnail_key = ${missingAvatar} where id = ${user.id}`.execute(t.container.database.db);
  });
  afterAll(() => t?.close());

  const run = async (apply: boolean, minAgeMs = 0) => {
    const findings: CleanupFinding[] = [];
    const report = await t.container.files.cleanup.run({ apply, minAgeMs, staleReservationMs: 60 * 60_000, onFinding: (f) => findings.push(f) });
    return { report, findings };
  };
  const exists = async (key: string) => (await t.container.storage.head(key)) !== null;

  it('a dry run reports orphaned objects and rows without their object, and changes nothing', async () => {
    const { report, findings } = await run(false);
    const orphans = findings.filter((f) => f.kind === 'orphaned_object').map((f) => f.key).sort();
    expect(orphans).toEqual([...orphanKeys, orphanAvatar].sort());
    expect(findings.filter((f) => f.kind === 'orphaned_object').every((f) => f.action === 'would_delete')).toBe(true);
    const missing = findings.filter((f) => f.kind === 'missing_object');
    expect(missing).toEqual([
      expect.objectContaining({ key: missingAvatar, action: 'would_clear_avatar' }),
      expect.objectContaining({ key: `files/${user.id}/${lost.id}`, action: 'would_delete_row' }),
    ]);
    expect(report).toMatchObject({ applied: false, orphanedObjects: { count: 3 }, missingObjects: { files: 1, avatars: 1 } });
    for (const key of [...orphanKeys, orphanAvatar, avatarKey]) expect(await exists(key)).toBe(true);
    expect((await t.app.inject({ url: `/api/v1/files/${lost.id}`, headers: bearer(user.accessToken) })).statusCode).toBe(200);
  });

  it('objects younger than the minimum age are left alone (an upload may be between its object and its row)', async () => {
    const { report, findings } = await run(false, 60 * 60_000);
    expect(findings.filter((f) => f.kind === 'orphaned_object')).toEqual([]);
    expect(report.recentObjectsSkipped).toBe(3);
    for (const key of orphanKeys) expect(await exists(key)).toBe(true);
  });

  it('--apply deletes the orphans and the file row without its object (quota given back, event sent), clears the avatar whose object is gone; the rest is untouched', async () => {
    // and a reservation whose upload died with its process
    const reservationId = randomUUID();
    const db = t.container.database.db;
    await sql`insert into storage_reservations (id, user_id, bytes, created_at, updated_at) values (${reservationId}, ${user.id}, 5000, now() - interval '2 hours', now() - interval '2 hours')`.execute(db);
    await sql`update storage_usage set reserved_bytes = reserved_bytes + 5000 where user_id = ${user.id}`.execute(db);

    const { report } = await run(true);
    expect(report).toMatchObject({ applied: true, orphanedObjects: { count: 3, failed: 0 }, missingObjects: { files: 1, avatars: 1 }, staleReservations: { count: 1, bytes: 5000 } });
    for (const key of [...orphanKeys, orphanAvatar]) expect(await exists(key)).toBe(false);
    // The avatar had lost its thumbnail: the profile now shows none (not a broken image), and
    // the size still there went with it.
    const profile = await t.app.inject({ url: '/api/v1/users/me/profile', headers: bearer(user.accessToken) });
    expect(profile.json()).toMatchObject({ avatar_url: null, avatar_thumbnail_url: null });
    expect(await exists(avatarKey)).toBe(false);
    expect(events).toContainEqual(expect.objectContaining({ type: 'profile.updated', userId: user.id }));
    expect((await t.app.inject({ url: `/api/v1/files/${lost.id}`, headers: bearer(user.accessToken) })).statusCode).toBe(404);
    const content = await t.app.inject({ url: `/api/v1/files/${kept.id}/content`, headers: bearer(user.accessToken) });
    expect(content.rawPayload.length).toBe(1000);
    const usage = await t.app.inject({ url: '/api/v1/files/usage', headers: bearer(user.accessToken) });
    expect(usage.json()).toMatchObject({ used_bytes: 1000, count: 1 });
    const row = await db.selectFrom('storage_usage').select('reserved_bytes').where('user_id', '=', user.id).executeTakeFirstOrThrow();
    expect(Number(row.reserved_bytes)).toBe(0);
    expect(events).toContainEqual(expect.objectContaining({ type: 'file.deleted', userId: user.id, data: { id: lost.id } }));

    // a second run finds nothing more to do
    const again = await run(true);
    expect(again.report).toMatchObject({ orphanedObjects: { count: 0 }, missingObjects: { files: 0, avatars: 0 }, staleReservations: { count: 0 } });
  });

  it('drifted usage counters are recounted', async () => {
    const db = t.container.database.db;
    await sql`update storage_usage set used_bytes = 123456 where user_id = ${user.id}`.execute(db);
    const dry = await run(false);
    expect(dry.report.usageRecounted).toBe(1);
    await run(true);
    const usage = await t.app.inject({ url: '/api/v1/files/usage', headers: bearer(user.accessToken) });
    expect(usage.json()).toMatchObject({ used_bytes: 1000 });
  });
});

describe(`tessera storage cleanup, the command (${BACKEND})`, () => {
  let t: TestApp | undefined;
  let dataDir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    if (BACKEND === 'postgres') {
      // the command on the same database and uploads folder as a test app
      t = await createTestApp({ env: AUTH_TEST_ENV });
      dataDir = t.config.dataDir;
      env = { DATA_DIR: dataDir, DATABASE_URL: t.env.DATABASE_URL! };
    } else {
      dataDir = mkdtempSync(path.join(tmpdir(), 'tessera-cleanup-'));
      env = { DATA_DIR: dataDir };
      expect((await runCli(['migrate', 'up'], env)).code).toBe(0);
    }
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    if (!t) rmSync(dataDir, { recursive: true, force: true });
  });

  it('reports in a dry run, acts with --apply, and refuses bad arguments with exit 2', async () => {
    const key = `files/${randomUUID()}/${randomUUID()}`;
    const file = path.join(dataDir, 'uploads', ...key.split('/'));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, 'left behind by a crash');

    const young = await runCli(['storage', 'cleanup'], env);
    expect(young.code, young.stderr).toBe(0);
    expect(young.stdout).toContain('younger than 60 min left alone');

    const dry = await runCli(['storage', 'cleanup', '--min-age', '0'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`^orphaned object {2}${key} {2}22 bytes .* would delete$`, 'm'));
    expect(dry.stdout).toContain('dry run: nothing was changed');
    expect(dry.stderr).toContain('checking (dry run)');
    expect(existsSync(file)).toBe(true);

    const applied = await runCli(['storage', 'cleanup', '--apply', '--min-age', '0'], env);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(new RegExp(`^orphaned object {2}${key} .* deleted$`, 'm'));
    expect(applied.stdout).not.toContain('dry run');
    expect(existsSync(file)).toBe(false);

    for (const args of [['storage', 'cleanup', '--force']]) {
      const bad = await runCli(args, env);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr).toMatch(/usage: tessera storage cleanup/);
    }
  }, 120_000);
});
