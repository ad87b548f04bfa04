import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAdmin, mailsTo, strongPassword, uniqueEmail } from '../helpers/auth.js';
import { AxeReport, chromiumAvailable, CHROMIUM_PATH, freePort, launchChromium, runAxe, screenshot } from '../helpers/browser.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * The web app in a real browser (issue 8): the whole self-service flow a person goes through,
 * on a phone-sized screen (360 px), with axe-core on every page and a screenshot of each
 * (test-results/screenshots/). Embedded project only: one browser run is enough.
 */

const EMBEDDED = process.env.TEST_BACKEND === 'embedded';
const PHONE = { width: 360, height: 780 };
const FLOW_TIMEOUT = 90_000;

if (EMBEDDED && !chromiumAvailable() && process.env.CI !== 'true') {
  console.warn(`e2e: skipped, no Chromium at ${CHROMIUM_PATH} (apt-get install chromium; CI installs it and fails without it)`);
}

describe.runIf(EMBEDDED && (chromiumAvailable() || process.env.CI === 'true'))('web app in Chromium', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const axe = new AxeReport();
  const cspErrors: string[] = [];
  const person = { email: uniqueEmail('web'), password: strongPassword(), name: 'Ada Lovelace', id: '' };

  beforeAll(async () => {
    if (!chromiumAvailable()) throw new Error(`Chromium is missing at ${CHROMIUM_PATH}: CI must install the chromium package`);
    // The app under test is the current web/ source (a no-op when dist/web is up to date).
    execFileSync(process.execPath, ['scripts/build-web.mjs'], { stdio: 'pipe' });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await createTestApp({ env: { PUBLIC_URL: base, RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'warn', MAX_AVATAR_SIZE_MB: '1' } });
    await t.app.listen({ port, host: '127.0.0.1' });
    browser = await launchChromium();
    context = await newPhoneContext();
    page = await context.newPage();
  }, 120_000);

  afterAll(async () => {
    axe.write();
    if (Object.keys(axe.pages).length) console.log(`\naxe-core per page (test-results/axe-results.json):\n${axe.table()}\n`);
    await context?.close();
    await browser?.close();
    await t?.close();
  }, 120_000);

  async function newPhoneContext(): Promise<BrowserContext> {
    const c = await browser.newContext({ viewport: PHONE, baseURL: base, acceptDownloads: true });
    c.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    return c;
  }

  /** axe (no serious or critical violation), no sideways scrolling at 360 px, a screenshot. */
  async function checkPage(p: Page, name: string): Promise<void> {
    await p.evaluate('document.fonts.ready');
    const summary = await runAxe(p);
    axe.add(name, summary);
    await screenshot(p, name);
    const blocking = summary.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(blocking, `${name}: ${JSON.stringify(blocking, null, 2)}`).toEqual([]);
    const width = (await p.evaluate('document.documentElement.scrollWidth')) as number;
    expect(width, `${name} scrolls sideways at ${PHONE.width} px`).toBeLessThanOrEqual(PHONE.width);
  }

  async function heading(p: Page, name: string | RegExp): Promise<void> {
    await p.getByRole('heading', { level: 1, name }).waitFor();
  }

  async function nav(p: Page, name: string): Promise<void> {
    await p.getByRole('navigation', { name: 'Account' }).getByRole('link', { name }).click();
  }

  /** The error shown next to a field: the input is marked invalid and describes itself with it. */
  async function fieldError(field: Locator): Promise<string> {
    await field.and(field.page().locator('[aria-invalid="true"]')).waitFor();
    const ids = (await field.getAttribute('aria-describedby')) ?? '';
    const first = ids.split(' ')[0] ?? '';
    return field.page().locator(`[id="${first}"]`).innerText();
  }

  async function signInThroughForm(p: Page, email: string, password: string): Promise<void> {
    await p.goto('/login');
    await heading(p, 'Sign in');
    await p.getByLabel('E-mail address').fill(email);
    await p.getByLabel('Password', { exact: true }).fill(password);
    await p.getByRole('button', { name: 'Sign in' }).click();
  }

  it('serves the app with the strict browser headers, and keeps API 404s as problem+json', async () => {
    const res = await fetch(`${base}/login`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/); // nothing from another origin

    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    const js = await fetch(`${base}${asset}`, { headers: { 'accept-encoding': 'br' } });
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');

    const api = await fetch(`${base}/api/v1/nothing-here`, { headers: { accept: 'text/html' } });
    expect(api.status).toBe(404);
    expect(api.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('signs up, with the API’s field errors next to their fields', async () => {
    await page.goto('/signup');
    await heading(page, 'Create an account');
    await checkPage(page, 'signup');

    await page.getByLabel('Display name').fill(person.name);
    await page.getByLabel('E-mail address').fill(person.email);
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    expect(await fieldError(page.getByLabel('Password', { exact: true }))).toMatch(/password/i);
    await checkPage(page, 'signup-field-error');

    await page.getByLabel('Password', { exact: true }).fill(person.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await heading(page, 'Check your inbox');
    await checkPage(page, 'signup-done');
  }, FLOW_TIMEOUT);

  it('verifies the e-mail address through the link in the outbox', async () => {
    const mails = await mailsTo(t, person.email, /confirm/i);
    const link = /(https?:\/\/\S+\/verify-email\?token=[A-Za-z0-9_%-]+)/.exec(mails.at(-1)?.text ?? '')?.[1];
    expect(link, 'verification link in the e-mail').toBeTruthy();
    expect(link!.startsWith(base)).toBe(true);
    await page.goto(link!);
    await page.getByText('Your e-mail address is verified').waitFor();
    expect(new URL(page.url()).search).toBe(''); // the token left the address bar
    await checkPage(page, 'verify-email');
  }, FLOW_TIMEOUT);

  it('signs in: the refresh token only in an HttpOnly cookie, nothing in web storage', async () => {
    await page.goto('/login');
    await heading(page, 'Sign in');
    await checkPage(page, 'login');
    await signInThroughForm(page, person.email, 'Wrong-password-123!');
    await page.getByRole('alert').filter({ hasText: /incorrect/i }).waitFor();
    await checkPage(page, 'login-error');

    // With the keyboard only: the skip link comes first, then the form, Enter submits.
    await page.goto('/login');
    await heading(page, 'Sign in');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to content');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.getAttribute("autocomplete")')).toBe('username');
    await page.keyboard.type(person.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(person.password);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/profile$/);
    await heading(page, 'Your profile');

    const cookie = (await context.cookies()).find((c) => c.name === 'tessera_refresh');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/api/v1/auth' });
    const storage = (await page.evaluate('JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage), document.cookie])')) as string;
    expect(storage).not.toMatch(/eyJ/); // no JWT
    expect(storage).not.toContain(cookie!.value);
  }, FLOW_TIMEOUT);

  it('edits the profile; a reload restores the session from the cookie', async () => {
    await page.goto('/profile');
    await heading(page, 'Your profile');
    await page.getByLabel('Bio').fill('x'.repeat(501));
    await page.getByRole('button', { name: 'Save profile' }).click();
    expect(await fieldError(page.getByLabel('Bio'))).toMatch(/500/);

    await page.getByLabel('Display name').fill('Ada King');
    await page.getByLabel('Bio').fill('Analyst of engines. <b>Not bold</b>');
    await page.getByRole('button', { name: 'Save profile' }).click();
    await page.getByText('Your profile is saved.').waitFor();

    await page.reload();
    await heading(page, 'Your profile');
    expect(await page.getByLabel('Display name').inputValue()).toBe('Ada King');
    expect(await page.getByLabel('Bio').inputValue()).toContain('Analyst of engines.');
    person.name = 'Ada King';
    person.id = ((await page.getByRole('link', { name: 'View your public page' }).getAttribute('href')) ?? '').replace('/u/', '');
    expect(person.id).toMatch(/^[0-9a-f-]{36}$/);
    await checkPage(page, 'profile');
  }, FLOW_TIMEOUT);

  it('uploads an avatar with a preview and shows it', async () => {
    // Over MAX_AVATAR_SIZE_MB: refused, and the page says so instead of waiting forever.
    const big = await sharp({ create: { width: 1400, height: 1400, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).png({ compressionLevel: 0 }).toBuffer();
    expect(big.length).toBeGreaterThan(1024 * 1024);
    await page.getByLabel('Choose a picture').setInputFiles({ name: 'big.png', mimeType: 'image/png', buffer: big });
    await page.getByRole('button', { name: 'Upload picture' }).click();
    const refused = await page.getByRole('alert').innerText();
    expect(refused).toContain('larger than 1 MB'); // the 413 problem's detail
    await page.getByRole('button', { name: 'Cancel' }).click();

    const png = await sharp({ create: { width: 480, height: 320, channels: 3, background: { r: 190, g: 70, b: 40 } } }).png().toBuffer();
    await page.getByLabel('Choose a picture').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: png });
    await page.getByRole('img', { name: 'Preview of the new picture, cropped square' }).waitFor();
    await checkPage(page, 'profile-avatar-preview');
    await page.getByRole('button', { name: 'Upload picture' }).click();
    await page.getByText('Your new picture is saved.').waitFor();
    const avatar = page.getByRole('img', { name: `Picture of ${person.name}` });
    expect(await avatar.getAttribute('src')).toMatch(new RegExp(`^${base}/uploads/`));
    await page.waitForFunction(`(() => { const i = document.querySelector('img[alt="Picture of ${person.name}"]'); return !!i && i.complete && i.naturalWidth > 0; })()`);
    await checkPage(page, 'profile-avatar');
  }, FLOW_TIMEOUT);

  it('applies the theme at once, and privacy decides what a stranger sees on /u/:id', async () => {
    await nav(page, 'Preferences');
    await heading(page, 'Preferences');
    await page.getByLabel('Dark').check();
    await page.getByText('Theme saved.').waitFor();
    expect(await page.evaluate('document.documentElement.dataset.theme')).toBe('dark');
    await checkPage(page, 'preferences-dark');

    await page.getByLabel('Only me').check();
    await page.getByRole('button', { name: 'Save preferences' }).click();
    await page.getByText('Your preferences are saved.').waitFor();

    const strangerContext = await newPhoneContext();
    const stranger = await strangerContext.newPage();
    await stranger.goto(`/u/${person.id}`);
    await heading(stranger, 'Profile not available');
    await checkPage(stranger, 'public-profile-hidden');

    await page.getByLabel('Everyone').check();
    await page.getByLabel(/Show my e-mail address/).check();
    await page.getByRole('button', { name: 'Save preferences' }).click();
    await page.getByText('Your preferences are saved.').waitFor();

    await stranger.reload();
    await heading(stranger, person.name);
    await stranger.getByText(person.email).waitFor();
    // the server stored the bio as plain text; the page shows that text and no markup
    await stranger.getByText('Analyst of engines. Not bold').waitFor();
    expect(await stranger.locator('.bio b').count()).toBe(0);
    await checkPage(stranger, 'public-profile');
    await strangerContext.close();

    await page.getByLabel('Light').check();
    await page.getByText('Theme saved.').waitFor();
    await checkPage(page, 'preferences');
  }, FLOW_TIMEOUT);

  it('uploads files with progress, finds the duplicate and removes it, renames, downloads, deletes', async () => {
    await nav(page, 'Files');
    await heading(page, 'Files');
    await page.getByText('No files yet.').waitFor();
    const notes = Buffer.from('Tessera notes\n'.repeat(200));
    await page.getByLabel('Choose files to upload').setInputFiles([
      { name: 'notes.txt', mimeType: 'text/plain', buffer: notes },
      { name: 'other.txt', mimeType: 'text/plain', buffer: Buffer.from('something else entirely\n') },
    ]);
    await expect.poll(() => page.getByText(/^Uploaded as/).count(), { timeout: 15_000 }).toBe(2);
    await page.getByLabel('Choose files to upload').setInputFiles({ name: 'notes (copy).txt', mimeType: 'text/plain', buffer: notes });
    await expect.poll(() => page.getByText(/^Uploaded as/).count(), { timeout: 15_000 }).toBe(3);

    const list = page.getByRole('list', { name: /^Files, page/ });
    await expect.poll(() => list.getByRole('listitem').count(), { timeout: 10_000 }).toBe(3);
    await page.getByText(/3 files$/).waitFor();
    await page.getByText('2 copies of notes.txt').waitFor();
    await checkPage(page, 'files');

    await page.getByRole('button', { name: 'Remove 1 copy of notes.txt, keep the oldest' }).click();
    await page.getByText(/^Removed 1 copy/).waitFor();
    await page.getByText(/^No duplicates/).waitFor();
    await expect.poll(() => list.getByRole('listitem').count(), { timeout: 10_000 }).toBe(2);

    await page.getByRole('button', { name: 'Rename other.txt' }).click();
    await page.getByLabel('New name for other.txt').fill('renamed.txt');
    await page.getByRole('button', { name: 'Save name' }).click();
    await page.getByText('Renamed to renamed.txt.').waitFor();

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download renamed.txt' }).click()]);
    expect(download.suggestedFilename()).toBe('renamed.txt');
    expect(readFileSync((await download.path())!, 'utf8')).toBe('something else entirely\n');

    await page.getByLabel('Sort by').selectOption({ label: 'Name, A to Z' });
    await expect.poll(async () => (await list.getByRole('listitem').first().innerText()).split('\n')[0]).toBe('notes.txt');

    await page.getByRole('button', { name: 'Delete renamed.txt' }).click();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByText('renamed.txt is deleted.').waitFor();
    await expect.poll(() => list.getByRole('listitem').count(), { timeout: 10_000 }).toBe(1);
    await checkPage(page, 'files-after');
  }, FLOW_TIMEOUT);

  it('signs out another session, which that browser learns at once over the realtime channel', async () => {
    const otherContext = await newPhoneContext();
    const other = await otherContext.newPage();
    const socket = other.waitForEvent('websocket');
    await signInThroughForm(other, person.email, person.password);
    await heading(other, 'Your profile');
    await socket;
    await other.waitForTimeout(300); // the socket is open and registered

    await nav(page, 'Security');
    await heading(page, 'Security');
    const devices = page.getByRole('list', { name: 'Signed-in devices' });
    await expect.poll(() => devices.getByRole('listitem').count(), { timeout: 10_000 }).toBe(2);
    await checkPage(page, 'security');

    await devices.getByRole('button', { name: /^Sign out .*, last used/ }).click();
    await page.getByText(/is signed out\.$/).waitFor();
    await other.waitForURL(/\/login/, { timeout: 10_000 });
    await other.getByText('This device was signed out.').waitFor();
    await otherContext.close();
    await expect.poll(() => devices.getByRole('listitem').count()).toBe(1);
  }, FLOW_TIMEOUT);

  it('resets a forgotten password through the e-mailed link', async () => {
    await page.getByRole('navigation', { name: 'Account' }).getByRole('button', { name: 'Sign out' }).click();
    await heading(page, 'Sign in');
    await page.getByText('You are signed out.').waitFor();
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await heading(page, 'Reset your password');
    await checkPage(page, 'forgot-password');
    await page.getByLabel('E-mail address').fill(person.email);
    await page.getByRole('button', { name: 'Send the reset link' }).click();
    await page.getByText(/an e-mail with a reset link is on its way/).waitFor();

    const mails = await mailsTo(t, person.email, /reset/i);
    const link = /(https?:\/\/\S+\/reset-password\?token=[A-Za-z0-9_%-]+)/.exec(mails.at(-1)?.text ?? '')?.[1];
    expect(link, 'reset link in the e-mail').toBeTruthy();
    await page.goto(link!);
    await heading(page, 'Choose a new password');
    await checkPage(page, 'reset-password');
    person.password = strongPassword();
    await page.getByLabel('New password', { exact: true }).fill(person.password);
    await page.getByLabel('Repeat the new password').fill(`${person.password}x`);
    await page.getByRole('button', { name: 'Save the new password' }).click();
    expect(await fieldError(page.getByLabel('Repeat the new password'))).toMatch(/match/);
    await page.getByLabel('Repeat the new password').fill(person.password);
    await page.getByRole('button', { name: 'Save the new password' }).click();
    await heading(page, 'Password changed');

    await signInThroughForm(page, person.email, person.password);
    await heading(page, 'Your profile');
  }, FLOW_TIMEOUT);

  it('shows admins the users page: search, lock and unlock, end sessions', async () => {
    await makeAdmin(t, person.id);
    const other = { email: uniqueEmail('other'), password: strongPassword() };
    const registered = await t.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: other });
    expect(registered.statusCode).toBe(201);

    await page.reload();
    await nav(page, 'Users');
    await heading(page, 'Users');
    await page.getByLabel('Search by e-mail or name').fill(other.email);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByRole('button', { name: `Lock ${other.email}` }).click();
    await page.getByText(`${other.email} is locked and signed out.`).waitFor();
    await checkPage(page, 'admin-users');
    await page.getByRole('button', { name: `Unlock ${other.email}` }).click();
    await page.getByText(`${other.email} is unlocked.`).waitFor();
    await page.getByRole('button', { name: `Sign out sessions of ${other.email}` }).click();
    await page.getByText(`Every session of ${other.email} is signed out.`).waitFor();
  }, FLOW_TIMEOUT);

  it('answers unknown pages with the app’s own page, and never hit the CSP', async () => {
    await page.goto('/no/such/page');
    await heading(page, 'Page not found');
    await checkPage(page, 'not-found');
    expect(cspErrors).toEqual([]);
  }, FLOW_TIMEOUT);
});
