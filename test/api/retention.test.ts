import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Retention } from '../../src/modules/operations/retention.js';
import { RetentionRepository } from '../../src/repositories/retention.repository.js';
import { AUTH_TEST_ENV, signedInUser } from '../helpers/auth.js';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000);

describe(`retention: what the database stops keeping (${BACKEND})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { ...AUTH_TEST_ENV } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('deletes ended sessions, expired refresh tokens, e-mail links and service-token revocations, and old audit events; keeps the rest working', async () => {
    const db = t.container.database.db;
    const [live, expired, signedOut, recentlyOut] = await Promise.all([signedInUser(t), signedInUser(t), signedInUser(t), signedInUser(t)]);
    await db.updateTable('sessions').set({ expires_at: daysAgo(40) }).where('id', '=', expired.sessionId).execute();
    await db.updateTable('sessions').set({ revoked_at: daysAgo(40), revoked_reason: 'signed_out' }).where('id', '=', signedOut.sessionId).execute();
    await db.updateTable('sessions').set({ revoked_at: daysAgo(1), revoked_reason: 'signed_out' }).where('id', '=', recentlyOut.sessionId).execute();

    // The live session rotates once; its first token then counts as expired two days ago.
    const rotated = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refresh_token: live.refreshToken } });
    expect(rotated.statusCode, rotated.body).toBe(200);
    const current = (rotated.json() as { refresh_token: string }).refresh_token;
    await db.updateTable('refresh_tokens').set({ expires_at: daysAgo(2) }).where('session_id', '=', live.sessionId).where('rotated_at', 'is not', null).execute();

    const link = (expiresAt: Date) => ({ user_id: live.id, purpose: 'verify_email' as const, token_hash: randomBytes(32).toString('hex'), email: live.email, expires_at: expiresAt });
    const oldLink = link(daysAgo(2));
    const freshLink = link(new Date(Date.now() + 3_600_000));
    await db.insertInto('email_tokens').values([oldLink, freshLink]).execute();
    const oldEvent = await db.insertInto('audit_events').values({ event: 'test.ancient', occurred_at: daysAgo(400), details: '{}' }).returning('id').executeTakeFirstOrThrow();
    const revocation = (expiresAt: Date) => ({ token_id: randomBytes(16).toString('hex'), client_id: 'retention-test', expires_at: expiresAt });
    const deadRevocation = revocation(daysAgo(2));
    const liveRevocation = revocation(new Date(Date.now() + 600_000));
    await db.insertInto('service_token_revocations').values([deadRevocation, liveRevocation]).execute();
    const recentEvent = await db.insertInto('audit_events').values({ event: 'test.recent', occurred_at: daysAgo(300), details: '{}' }).returning('id').executeTakeFirstOrThrow();

    const report = await t.container.retention.runOnce();
    expect(report.sessions).toBeGreaterThanOrEqual(2);
    expect(report.refresh_tokens).toBeGreaterThanOrEqual(1);
    expect(report.email_tokens).toBeGreaterThanOrEqual(1);
    expect(report.audit_events).toBeGreaterThanOrEqual(1);
    expect(report.service_token_revocations).toBeGreaterThanOrEqual(1);

    const sessions = await db.selectFrom('sessions').select('id').where('id', 'in', [live.sessionId, expired.sessionId, signedOut.sessionId, recentlyOut.sessionId]).execute();
    expect(sessions.map((s) => s.id).sort()).toEqual([live.sessionId, recentlyOut.sessionId].sort());
    const tokens = await db.selectFrom('refresh_tokens').select(['session_id', 'rotated_at']).where('session_id', 'in', [live.sessionId, expired.sessionId, signedOut.sessionId]).execute();
    expect(tokens).toEqual([{ session_id: live.sessionId, rotated_at: null }]); // the current one only
    const links = await db.selectFrom('email_tokens').select('token_hash').where('token_hash', 'in', [oldLink.token_hash, freshLink.token_hash]).execute();
    expect(links.map((l) => l.token_hash)).toEqual([freshLink.token_hash]);
    const revocations = await db.selectFrom('service_token_revocations').select('token_id').where('token_id', 'in', [deadRevocation.token_id, liveRevocation.token_id]).execute();
    expect(revocations.map((r) => r.token_id)).toEqual([liveRevocation.token_id]);
    const events = await db.selectFrom('audit_events').select('id').where('id', 'in', [oldEvent.id, recentEvent.id]).execute();
    expect(events.map((e) => e.id)).toEqual([recentEvent.id]);

    // What is left still works: the live session refreshes with its current token.
    const again = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refresh_token: current } });
    expect(again.statusCode, again.body).toBe(200);
    // Counted for /metrics.
    const metrics = (await t.app.inject({ url: '/metrics', remoteAddress: '127.0.0.1' })).body;
    expect(metrics).toMatch(/tessera_retention_deleted_rows_total\{table="sessions"\} [1-9]/);
  });

  it('AUDIT_RETENTION_DAYS=0 keeps audit events for ever; a second pass finds nothing more', async () => {
    const db = t.container.database.db;
    const ancient = await db.insertInto('audit_events').values({ event: 'test.ancient', occurred_at: daysAgo(4000), details: '{}' }).returning('id').executeTakeFirstOrThrow();
    const keepAll = new Retention(new RetentionRepository(db), { intervalMinutes: 0, sessionDays: 30, auditDays: 0 }, t.container.logger);
    const first = await keepAll.runOnce();
    expect(first.audit_events).toBe(0);
    expect(await db.selectFrom('audit_events').select('id').where('id', '=', ancient.id).executeTakeFirst()).toBeDefined();
    expect(await keepAll.runOnce()).toEqual({ refresh_tokens: 0, sessions: 0, email_tokens: 0, service_token_revocations: 0, audit_events: 0 });
  });
});
