import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_TEST_ENV, signedInUser } from '../helpers/auth.js';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * DATABASE_PREPARED_STATEMENTS: the hot statements (sign-in lookup, sign-in, refresh rotation)
 * go as named statements, or, behind a pooler that cannot keep them (transaction-pooling
 * PgBouncer before 1.21), as plain ones. One connection per app, so what it prepared is what
 * pg_prepared_statements shows. PostgreSQL only: the embedded database has no pooler in front.
 */
describe.runIf(BACKEND === 'postgres')('DATABASE_PREPARED_STATEMENTS (postgres)', () => {
  const ONE_CONNECTION = { DATABASE_POOL_SIZE: '1', DATABASE_MAX_OVERFLOW: '0' };
  let prepared: TestApp;
  let plain: TestApp;
  beforeAll(async () => {
    prepared = await createTestApp({ env: { ...AUTH_TEST_ENV, ...ONE_CONNECTION } });
    plain = await createTestApp({ env: { ...AUTH_TEST_ENV, ...ONE_CONNECTION, DATABASE_PREPARED_STATEMENTS: 'false' } });
  });
  afterAll(async () => {
    await prepared?.close();
    await plain?.close();
  });

  async function signInAndRefresh(t: TestApp): Promise<string[]> {
    const user = await signedInUser(t);
    const refreshed = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refresh_token: user.refreshToken } });
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    const rows = await sql<{ name: string }>`select name from pg_prepared_statements order by name`.execute(t.container.database.db);
    return rows.rows.map((r) => r.name);
  }

  it('on by default: the sign-in lookup, sign-in and refresh rotation are prepared on the connection', async () => {
    const names = await signInAndRefresh(prepared);
    expect(names.some((n) => n.startsWith('user_for_sign_in_'))).toBe(true);
    expect(names.some((n) => n.startsWith('sign_in_'))).toBe(true);
    expect(names.some((n) => n.startsWith('rotate_refresh_token_'))).toBe(true);
  });

  it('false: the same sign-in and refresh work with nothing prepared', async () => {
    expect(await signInAndRefresh(plain)).toEqual([]);
  });
});
