import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { readOutbox } from '../../src/adapters/mailer/index.js';
import type { TestApp } from './test-app.js';

/** A password that meets the seed policy (12+, upper, lower, digit, special) and is nobody's. */
export function strongPassword(): string {
  return `Tess-${randomBytes(6).toString('hex')}-Ok9!`;
}

export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}.${randomBytes(5).toString('hex')}@example.com`;
}

export interface TestUser {
  id: string;
  email: string;
  password: string;
}

export interface SignedIn extends TestUser {
  accessToken: string;
  refreshToken: string;
  sessionId: string;
}

interface InjectResult {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
  json(): unknown;
}

/** Registers through the API (201 expected). */
export async function registerUser(t: TestApp, options: { email?: string; password?: string; displayName?: string } = {}): Promise<TestUser> {
  const email = options.email ?? uniqueEmail();
  const password = options.password ?? strongPassword();
  const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email, password, ...(options.displayName ? { display_name: options.displayName } : {}) } });
  expect(res.statusCode, res.body).toBe(201);
  const { user } = res.json() as { user: { id: string; email: string } };
  return { id: user.id, email: user.email, password };
}

export async function login(t: TestApp, user: Pick<TestUser, 'email' | 'password'>, headers: Record<string, string> = {}): Promise<InjectResult> {
  return t.app.inject({ method: 'POST', url: '/api/v1/auth/login', headers, payload: { email: user.email, password: user.password } });
}

/** Registers and signs in (200 expected). */
export async function signedInUser(t: TestApp, options: Parameters<typeof registerUser>[1] = {}): Promise<SignedIn> {
  const user = await registerUser(t, options);
  return signIn(t, user);
}

export async function signIn(t: TestApp, user: TestUser): Promise<SignedIn> {
  const res = await login(t, user);
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json() as { access_token: string; refresh_token: string };
  const claims = decodeJwt(body.access_token);
  return { ...user, accessToken: body.access_token, refreshToken: body.refresh_token, sessionId: String(claims.sid) };
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

export function me(t: TestApp, token: string): Promise<InjectResult> {
  return t.app.inject({ url: '/api/v1/auth/me', headers: bearer(token) });
}

/** The payload of a JWT, unverified (for assertions on claims). */
export function decodeJwt(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Makes a user admin directly in the database (the CLI path is tested on its own). */
export async function makeAdmin(t: TestApp, userId: string): Promise<void> {
  await t.container.database.db.updateTable('users').set({ role: 'admin' }).where('id', '=', userId).execute();
  await t.container.auth.userCache.invalidate(userId);
}

/** Waits for the e-mails in flight, then returns those sent to `to` (oldest first). */
export async function mailsTo(t: TestApp, to: string, subjectMatch?: RegExp) {
  await t.container.auth.mail.drain();
  const all = await readOutbox(t.config.dataDir);
  return all.filter((m) => m.to === to && (!subjectMatch || subjectMatch.test(m.subject)));
}

/** The token in the last link e-mailed to `to` for the given page. */
export async function linkToken(t: TestApp, to: string, page: 'verify-email' | 'reset-password'): Promise<string> {
  const mails = await mailsTo(t, to);
  const tokens = mails.flatMap((m) => [...m.text.matchAll(new RegExp(`/${page}\\?token=([A-Za-z0-9_%-]+)`, 'g'))].map((x) => decodeURIComponent(x[1]!)));
  const token = tokens.at(-1);
  if (!token) throw new Error(`no ${page} link in the e-mails to ${to}`);
  return token;
}

export function form(values: Record<string, string | string[]>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) for (const item of Array.isArray(v) ? v : [v]) p.append(k, item);
  return p.toString();
}

export const FORM_HEADERS = { 'content-type': 'application/x-www-form-urlencoded' };

/** Settings most auth suites use: no rate limits in the way (they have their own tests). */
export const AUTH_TEST_ENV = { RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'info' };

export function expectProblem(res: InjectResult, status: number, code: string): Record<string, unknown> {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  expect(body).toMatchObject({ status, code, type: `urn:tessera:problem:${code}` });
  expect(body.request_id).toBe(res.headers['x-request-id']);
  expect(res.body).not.toMatch(/at .*\.(ts|js):\d+|node_modules|\/work\//);
  return body;
}
