import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/modules/events/domain-events.js';
import { AUTH_TEST_ENV, bearer, expectProblem, signedInUser, type SignedIn } from '../helpers/auth.js';
import { multipart, pngBytes, SAMPLES, uploadFile, type FileBody } from '../helpers/files.js';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const NOBODY = '00000000-0000-4000-8000-000000000000';

describe(`files: upload, read, rename, delete (${BACKEND})`, () => {
  let t: TestApp;
  let alice: SignedIn;
  let bob: SignedIn;
  const events: DomainEvent[] = [];

  beforeAll(async () => {
    t = await createTestApp({ env: AUTH_TEST_ENV });
    await t.container.events.subscribe((e) => events.push(e));
    alice = await signedInUser(t);
    bob = await signedInUser(t);
  });
  afterAll(() => t?.close());

  async function upload(user: SignedIn, data: Buffer | string, name = 'notes.txt'): Promise<FileBody> {
    const res = await uploadFile(t, user.accessToken, data, name);
    expect(res.statusCode, res.body).toBe(201);
    return res.json<FileBody>();
  }

  const objectOf = (user: SignedIn, id: string) => t.container.storage.head(`files/${user.id}/${id}`);

  it('POST /files stores a file: 201 with id, name, size, the type read from the content and the SHA-256', async () => {
    const res = await uploadFile(t, alice.accessToken, SAMPLES.png, 'photo.png', 'text/plain');
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json<FileBody>();
    expect(body).toMatchObject({ name: 'photo.png', size: SAMPLES.png.length, content_type: 'image/png', sha256: sha256(SAMPLES.png) });
    expect(Object.keys(body).sort()).toEqual(['content_type', 'created_at', 'id', 'name', 'sha256', 'size', 'updated_at']);
    expect(res.headers.location).toBe(`/api/v1/files/${body.id}`);
    expect((await objectOf(alice, body.id))?.size).toBe(SAMPLES.png.length);
    expect(events).toContainEqual(expect.objectContaining({ type: 'file.created', userId: alice.id, data: { file: body } }));
  });

  it('the type is the content’s, whatever the name says: text named .png is text/plain, a PDF named .txt is a PDF', async () => {
    expect((await upload(alice, SAMPLES.text, 'picture.png')).content_type).toBe('text/plain');
    expect((await upload(alice, SAMPLES.pdf, 'readme.txt')).content_type).toBe('application/pdf');
  });

  it('an executable, an HTML page or an SVG named .pdf is 415 file_type_not_allowed, and nothing is stored', async () => {
    const before = await t.app.inject({ url: '/api/v1/files/usage', headers: bearer(bob.accessToken) });
    for (const [data, type] of [
      [SAMPLES.exe, 'application/vnd.microsoft.portable-executable'],
      [SAMPLES.html, 'text/html'],
      [SAMPLES.svg, 'image/svg+xml'],
      [Buffer.from('#!/bin/sh\necho hi\n'), 'text/x-shellscript'],
    ] as const) {
      const res = await uploadFile(t, bob.accessToken, data, 'invoice.pdf', 'application/pdf');
      const problem = expectProblem(res, 415, 'file_type_not_allowed');
      expect(problem.content_type).toBe(type);
    }
    const after = await t.app.inject({ url: '/api/v1/files/usage', headers: bearer(bob.accessToken) });
    expect(after.json()).toEqual(before.json());
    const objects: string[] = [];
    for await (const o of t.container.storage.list(`files/${bob.id}/`)) objects.push(o.key);
    expect(objects).toEqual([]);
  });

  it('a zero-byte file is stored: size 0, text/plain, the SHA-256 of nothing', async () => {
    const body = await upload(alice, Buffer.alloc(0), 'empty.txt');
    expect(body).toMatchObject({ size: 0, content_type: 'text/plain', sha256: sha256('') });
    const content = await t.app.inject({ url: `/api/v1/files/${body.id}/content`, headers: bearer(alice.accessToken) });
    expect(content.statusCode).toBe(200);
    expect(content.rawPayload.length).toBe(0);
  });

  it('names are sanitised: path, device name, 1,000 characters, RTL override, only dots', async () => {
    const names: [string, (name: string) => void][] = [
      ['../../etc/passwd', (n) => expect(n).toBe('passwd')],
      ['..\\..\\windows\\win.ini', (n) => expect(n).toBe('win.ini')],
      ['CON', (n) => expect(n).toBe('_CON')],
      [`${'ä'.repeat(1000)}.txt`, (n) => {
        expect(Buffer.byteLength(n)).toBeLessThanOrEqual(255);
        expect(n.endsWith('.txt')).toBe(true);
      }],
      ['invoice\u202Etxt.exe', (n) => expect(n).toBe('invoicetxt.exe')],
      ['....', (n) => expect(n).toBe('unnamed')],
      ['tab\there\u0007.txt', (n) => expect(n).toBe('tab here.txt')],
    ];
    for (const [raw, check] of names) {
      const body = await upload(alice, SAMPLES.text, raw);
      check(body.name);
      // eslint-disable-next-line no-control-regex -- finding control characters is the point
      expect(body.name).not.toMatch(/[/\\\u0000-\u001f\u202a-\u202e]/);
      const listed = await t.app.inject({ url: `/api/v1/files/${body.id}`, headers: bearer(alice.accessToken) });
      expect(listed.json<FileBody>().name).toBe(body.name);
    }
  });

  it('multipart without a file, with the file in another field, or not multipart at all is refused', async () => {
    const noFile = multipart([{ name: 'comment', data: 'hello' }]);
    const r1 = await t.app.inject({ method: 'POST', url: '/api/v1/files', payload: noFile.payload, headers: { ...noFile.headers, ...bearer(alice.accessToken) } });
    expect(expectProblem(r1, 422, 'validation_failed').errors).toEqual([expect.objectContaining({ field: 'file' })]);

    const otherField = multipart([{ name: 'upload', filename: 'a.txt', data: 'x' }]);
    const r2 = await t.app.inject({ method: 'POST', url: '/api/v1/files', payload: otherField.payload, headers: { ...otherField.headers, ...bearer(alice.accessToken) } });
    expect(expectProblem(r2, 422, 'validation_failed').errors).toEqual([expect.objectContaining({ field: 'file' })]);

    const json = await t.app.inject({ method: 'POST', url: '/api/v1/files', payload: { file: 'x' }, headers: bearer(alice.accessToken) });
    expectProblem(json, 415, 'unsupported_media_type');

    const empty = await t.app.inject({ method: 'POST', url: '/api/v1/files', payload: '', headers: { 'content-type': 'multipart/form-data; boundary=xyz', ...bearer(alice.accessToken) } });
    expect(empty.statusCode).toBeGreaterThanOrEqual(400);
    expect(empty.statusCode).toBeLessThan(500);
  });

  it('a second file, in "file" or in any other field, is 422 and stores nothing (no row, no object, no quota)', async () => {
    const user = await signedInUser(t);
    const objects = async () => {
      const keys: string[] = [];
      for await (const o of t.container.storage.list(`files/${user.id}/`)) keys.push(o.key);
      return keys;
    };
    for (const second of ['file', 'attachment']) {
      const form = multipart([{ name: 'file', filename: 'a.txt', data: 'first' }, { name: 'note', data: 'a text field is fine' }, { name: second, filename: 'b.txt', data: 'second' }]);
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/files', payload: form.payload, headers: { ...form.headers, ...bearer(user.accessToken) } });
      expect(expectProblem(res, 422, 'validation_failed').errors).toEqual([{ field: 'file', message: 'only one file may be sent' }]);
    }
    expect((await t.app.inject({ url: '/api/v1/files/usage', headers: bearer(user.accessToken) })).json()).toMatchObject({ count: 0, used_bytes: 0 });
    expect(await objects()).toEqual([]);
    // One file with text fields around it is what a form sends.
    const ok = multipart([{ name: 'note', data: 'before' }, { name: 'file', filename: 'a.txt', data: 'first' }, { name: 'note2', data: 'after' }]);
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/files', payload: ok.payload, headers: { ...ok.headers, ...bearer(user.accessToken) } });
    expect(created.statusCode, created.body).toBe(201);
    expect(await objects()).toHaveLength(1);
  });

  it('multipart with a 1 MB field name is refused with a 4xx problem, and stores nothing', async () => {
    const before = (await t.app.inject({ url: '/api/v1/files/usage', headers: bearer(bob.accessToken) })).json<{ count: number }>();
    for (const filename of [undefined, 'a.txt']) {
      const form = multipart([{ name: 'f'.repeat(1024 * 1024), ...(filename ? { filename } : {}), data: 'hello' }, { name: 'file', filename: 'b.txt', data: 'world' }]);
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/files', payload: form.payload, headers: { ...form.headers, ...bearer(bob.accessToken) } });
      expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    const after = (await t.app.inject({ url: '/api/v1/files/usage', headers: bearer(bob.accessToken) })).json<{ count: number }>();
    expect(after.count).toBe(before.count);
  });

  it('GET /files/:id: the owner sees it; another user, a made-up id and a non-uuid are all 404; no token is 401', async () => {
    const file = await upload(alice, 'mine');
    const own = await t.app.inject({ url: `/api/v1/files/${file.id}`, headers: bearer(alice.accessToken) });
    expect(own.statusCode).toBe(200);
    expect(own.json()).toEqual(file);
    for (const path of [`/files/${file.id}`, `/files/${file.id}/content`]) {
      expectProblem(await t.app.inject({ url: `/api/v1${path}`, headers: bearer(bob.accessToken) }), 404, 'not_found');
    }
    expectProblem(await t.app.inject({ method: 'PATCH', url: `/api/v1/files/${file.id}`, payload: { name: 'x' }, headers: bearer(bob.accessToken) }), 404, 'not_found');
    expectProblem(await t.app.inject({ method: 'DELETE', url: `/api/v1/files/${file.id}`, headers: bearer(bob.accessToken) }), 404, 'not_found');
    for (const id of [NOBODY, 'not-a-uuid', '1', `${file.id}x`, "' or 1=1 --"]) {
      expectProblem(await t.app.inject({ url: `/api/v1/files/${encodeURIComponent(id)}`, headers: bearer(alice.accessToken) }), 404, 'not_found');
    }
    const anonymous = await t.app.inject({ url: `/api/v1/files/${file.id}` });
    expectProblem(anonymous, 401, 'unauthorized');
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer/);
    // and alice's file is still there
    expect((await t.app.inject({ url: `/api/v1/files/${file.id}`, headers: bearer(alice.accessToken) })).statusCode).toBe(200);
  });

  it('GET /files/:id/content: the bytes as an attachment, with ETag, nosniff and a safe Content-Disposition', async () => {
    const data = pngBytes(3000);
    data.write('%PDF-1.5\n', 0);
    const file = await upload(alice, data, 'Rapport final – été.pdf');
    expect(file.name).toBe('Rapport final – été.pdf'); // UTF-8 in the multipart header, as browsers send it
    // quotes in a name (as renamed) never break the header
    await t.app.inject({ method: 'PATCH', url: `/api/v1/files/${file.id}`, payload: { name: 'Rapport "final" – été.pdf' }, headers: bearer(alice.accessToken) });
    const res = await t.app.inject({ url: `/api/v1/files/${file.id}/content`, headers: { ...bearer(alice.accessToken), 'accept-encoding': 'gzip, br' } });
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload.equals(data)).toBe(true);
    expect(res.headers['content-type']).toBe('application/pdf');
    expect(res.headers['content-length']).toBe('3000');
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers.etag).toBe(`"${file.sha256}"`);
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('private, no-cache');
    expect(res.headers['content-security-policy']).toContain('sandbox');
    const disposition = String(res.headers['content-disposition']);
    expect(disposition).toMatch(/^attachment; filename="[^"\\]*"; filename\*=UTF-8''/);
    expect(decodeURIComponent(disposition.split("UTF-8''")[1]!)).toBe('Rapport _final_ – été.pdf');

    const text = await upload(alice, 'plain words', 'w.txt');
    const textRes = await t.app.inject({ url: `/api/v1/files/${text.id}/content`, headers: bearer(alice.accessToken) });
    expect(textRes.headers['content-type']).toBe('text/plain; charset=utf-8');
  });

  it('If-None-Match with the ETag is 304; Range is 206; a range past the end is 416', async () => {
    const data = Buffer.from('0123456789abcdefghij');
    const file = await upload(alice, data, 'digits.txt');
    const url = `/api/v1/files/${file.id}/content`;
    const auth = bearer(alice.accessToken);

    const notModified = await t.app.inject({ url, headers: { ...auth, 'if-none-match': `"nope", "${file.sha256}"` } });
    expect(notModified.statusCode).toBe(304);
    expect(notModified.headers.etag).toBe(`"${file.sha256}"`);
    expect(notModified.rawPayload.length).toBe(0);
    expect((await t.app.inject({ url, headers: { ...auth, 'if-none-match': '"other"' } })).statusCode).toBe(200);

    const partial = await t.app.inject({ url, headers: { ...auth, range: 'bytes=2-5' } });
    expect(partial.statusCode).toBe(206);
    expect(partial.body).toBe('2345');
    expect(partial.headers['content-range']).toBe('bytes 2-5/20');
    expect(partial.headers['content-length']).toBe('4');

    const suffix = await t.app.inject({ url, headers: { ...auth, range: 'bytes=-3' } });
    expect(suffix.statusCode).toBe(206);
    expect(suffix.body).toBe('hij');

    const tail = await t.app.inject({ url, headers: { ...auth, range: 'bytes=15-' } });
    expect(tail.body).toBe('fghij');

    const staleIfRange = await t.app.inject({ url, headers: { ...auth, range: 'bytes=2-5', 'if-range': '"old"' } });
    expect(staleIfRange.statusCode).toBe(200);
    expect(staleIfRange.body).toBe(data.toString());

    const unsatisfiable = await t.app.inject({ url, headers: { ...auth, range: 'bytes=999999999-' } });
    expectProblem(unsatisfiable, 416, 'range_not_satisfiable');
    expect(unsatisfiable.headers['content-range']).toBe('bytes */20');
    // past the end too, however many digits it has
    for (const range of ['bytes=99999999999999999999-', `bytes=${'9'.repeat(400)}-`]) {
      expectProblem(await t.app.inject({ url, headers: { ...auth, range } }), 416, 'range_not_satisfiable');
    }

    const garbage = await t.app.inject({ url, headers: { ...auth, range: 'bytes=9-2' } });
    expect(garbage.statusCode).toBe(200);

    const head = await t.app.inject({ method: 'HEAD', url, headers: auth });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe('20');
    expect(head.headers.etag).toBe(`"${file.sha256}"`);
    expect(head.rawPayload.length).toBe(0);
  });

  it('PATCH /files/:id renames (sanitised); unknown fields and empty names are 422', async () => {
    const file = await upload(alice, 'rename me', 'old.txt');
    const res = await t.app.inject({ method: 'PATCH', url: `/api/v1/files/${file.id}`, payload: { name: '../New\u202E name.txt' }, headers: bearer(alice.accessToken) });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id: file.id, name: 'New name.txt', sha256: file.sha256, size: file.size });
    expect(new Date(res.json<FileBody>().updated_at).getTime()).toBeGreaterThanOrEqual(new Date(file.updated_at).getTime());
    const only = await t.app.inject({ method: 'PATCH', url: `/api/v1/files/${file.id}`, payload: { name: '...' }, headers: bearer(alice.accessToken) });
    expect(only.json<FileBody>().name).toBe('unnamed');
    expectProblem(await t.app.inject({ method: 'PATCH', url: `/api/v1/files/${file.id}`, payload: { name: '' }, headers: bearer(alice.accessToken) }), 422, 'validation_failed');
    expectProblem(await t.app.inject({ method: 'PATCH', url: `/api/v1/files/${file.id}`, payload: { name: 'a', size: 1 }, headers: bearer(alice.accessToken) }), 422, 'validation_failed');
    expectProblem(await t.app.inject({ method: 'PATCH', url: `/api/v1/files/${file.id}`, payload: { name: 5 }, headers: bearer(alice.accessToken) }), 422, 'validation_failed');
    // JSON only: a text/plain body is a 415, not a string to validate.
    const plain = { ...bearer(alice.accessToken), 'content-type': 'text/plain' };
    expectProblem(await t.app.inject({ method: 'PATCH', url: `/api/v1/files/${file.id}`, payload: '{"name":"x.txt"}', headers: plain }), 415, 'unsupported_media_type');
  });

  it('DELETE /files/:id: 204, the row then the object gone, usage given back, a security log entry and an event', async () => {
    const file = await upload(alice, pngBytes(500), 'bye.bin');
    const before = (await t.app.inject({ url: '/api/v1/files/usage', headers: bearer(alice.accessToken) })).json<{ used_bytes: number; count: number }>();
    const res = await t.app.inject({ method: 'DELETE', url: `/api/v1/files/${file.id}`, headers: bearer(alice.accessToken) });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expectProblem(await t.app.inject({ url: `/api/v1/files/${file.id}`, headers: bearer(alice.accessToken) }), 404, 'not_found');
    expect(await objectOf(alice, file.id)).toBeNull();
    const after = (await t.app.inject({ url: '/api/v1/files/usage', headers: bearer(alice.accessToken) })).json<{ used_bytes: number; count: number }>();
    expect(after).toMatchObject({ used_bytes: before.used_bytes - 500, count: before.count - 1 });
    expectProblem(await t.app.inject({ method: 'DELETE', url: `/api/v1/files/${file.id}`, headers: bearer(alice.accessToken) }), 404, 'not_found');

    const entry = t.logs().find((l) => l.event === 'file.deleted' && l.fileId === file.id);
    expect(entry).toMatchObject({ event: 'file.deleted', userId: alice.id, fileId: file.id });
    expect(JSON.stringify(entry)).not.toContain('bye.bin');
    expect(events).toContainEqual(expect.objectContaining({ type: 'file.deleted', userId: alice.id, data: { id: file.id } }));
  });

  it('GET /files/usage: used bytes, the quota and the count', async () => {
    const carol = await signedInUser(t);
    const empty = await t.app.inject({ url: '/api/v1/files/usage', headers: bearer(carol.accessToken) });
    expect(empty.json()).toEqual({ used_bytes: 0, quota_bytes: 1024 * 1024 * 1024, count: 0 });
    await upload(carol, pngBytes(100));
    await upload(carol, 'twelve bytes');
    const res = await t.app.inject({ url: '/api/v1/files/usage', headers: bearer(carol.accessToken) });
    expect(res.json()).toEqual({ used_bytes: 112, quota_bytes: 1024 * 1024 * 1024, count: 2 });
  });

  it('the OpenAPI document describes every /files route', async () => {
    const doc = (await t.app.inject('/openapi.json')).json<{ paths: Record<string, Record<string, unknown>> }>();
    for (const [route, methods] of Object.entries({
      '/api/v1/files': ['get', 'post'],
      '/api/v1/files/usage': ['get'],
      '/api/v1/files/duplicates': ['get'],
      '/api/v1/files/{id}': ['get', 'patch', 'delete'],
      '/api/v1/files/{id}/content': ['get'],
    })) {
      expect(Object.keys(doc.paths[route] ?? {}), route).toEqual(expect.arrayContaining(methods));
    }
  });

  it('GET /metrics counts upload outcomes and stored bytes', async () => {
    const res = await t.app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/^tessera_file_uploads_total\{outcome="created"\} \d+/m);
    expect(res.body).toMatch(/^tessera_file_uploads_total\{outcome="type_not_allowed"\} [1-9]/m);
    const stored = /^tessera_storage_bytes (\d+)/m.exec(res.body);
    expect(Number(stored?.[1])).toBeGreaterThan(0);
  });
});

describe(`files: listing and the duplicates report (${BACKEND})`, () => {
  let t: TestApp;
  let dana: SignedIn;
  let erin: SignedIn;
  const uploaded: FileBody[] = [];

  beforeAll(async () => {
    t = await createTestApp({ env: AUTH_TEST_ENV });
    dana = await signedInUser(t);
    erin = await signedInUser(t);
    const names = ['b.txt', 'A.txt', 'c.txt', 'a2.txt', 'B2.txt', 'd.txt', 'e.txt'];
    for (const [i, name] of names.entries()) {
      const res = await uploadFile(t, dana.accessToken, `${'x'.repeat((i * 37) % 11)}file ${i}`, name);
      expect(res.statusCode, res.body).toBe(201);
      uploaded.push(res.json<FileBody>());
    }
  });
  afterAll(() => t?.close());

  async function allPages(query: string, limit: number): Promise<FileBody[]> {
    const seen: FileBody[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 20; i++) {
      const after: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const res = await t.app.inject({ url: `/api/v1/files?${query}&limit=${limit}${after}`, headers: bearer(dana.accessToken) });
      expect(res.statusCode, res.body).toBe(200);
      const body: { items: FileBody[]; next_cursor: string | null } = res.json();
      expect(body.items.length).toBeLessThanOrEqual(limit);
      seen.push(...body.items);
      cursor = body.next_cursor;
      if (!cursor) return seen;
    }
    throw new Error('too many pages');
  }

  it('GET /files lists only your files, newest first by default, {items, next_cursor}', async () => {
    const res = await t.app.inject({ url: '/api/v1/files', headers: bearer(dana.accessToken) });
    const body = res.json<{ items: FileBody[]; next_cursor: null }>();
    expect(body.next_cursor).toBeNull();
    expect(body.items.map((f) => f.id)).toEqual([...uploaded].reverse().map((f) => f.id));
    const other = await t.app.inject({ url: '/api/v1/files', headers: bearer(erin.accessToken) });
    expect(other.json()).toEqual({ items: [], next_cursor: null });
  });

  it('every sort pages through every file once, in a stable order', async () => {
    const byCreated = await allPages('sort=created_at', 2);
    expect(byCreated.map((f) => f.id)).toEqual([...uploaded].reverse().map((f) => f.id));
    const oldestFirst = await allPages('sort=created_at&order=asc', 3);
    expect(oldestFirst.map((f) => f.id)).toEqual(uploaded.map((f) => f.id));

    const bySize = await allPages('sort=size', 2);
    const sizes = bySize.map((f) => f.size);
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
    expect(new Set(bySize.map((f) => f.id)).size).toBe(uploaded.length);

    const byName = await allPages('sort=name', 3);
    expect(byName.map((f) => f.name)).toEqual(['A.txt', 'a2.txt', 'b.txt', 'B2.txt', 'c.txt', 'd.txt', 'e.txt']);
    const byNameDesc = await allPages('sort=name&order=desc', 4);
    expect(byNameDesc.map((f) => f.name)).toEqual(['e.txt', 'd.txt', 'c.txt', 'B2.txt', 'b.txt', 'a2.txt', 'A.txt']);
  });

  it('a tampered, foreign or mismatched cursor is 422 naming `cursor`; bad sort or limit is 422', async () => {
    const first = await t.app.inject({ url: '/api/v1/files?limit=2', headers: bearer(dana.accessToken) });
    const cursor = first.json<{ next_cursor: string }>().next_cursor;
    const [body, tag] = cursor.split('.');
    const payload = JSON.parse(Buffer.from(body!, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${Buffer.from(JSON.stringify({ ...payload, u: erin.id })).toString('base64url')}.${tag}`;
    for (const bad of [`${cursor}x`, `x${cursor}`, forged, 'garbage', `${body}.`]) {
      const res = await t.app.inject({ url: `/api/v1/files?cursor=${encodeURIComponent(bad)}`, headers: bearer(dana.accessToken) });
      expect(expectProblem(res, 422, 'validation_failed').errors).toEqual([expect.objectContaining({ field: 'cursor' })]);
    }
    // a real cursor, used by someone else or for another order
    const stolen = await t.app.inject({ url: `/api/v1/files?cursor=${encodeURIComponent(cursor)}`, headers: bearer(erin.accessToken) });
    expectProblem(stolen, 422, 'validation_failed');
    const otherSort = await t.app.inject({ url: `/api/v1/files?sort=size&cursor=${encodeURIComponent(cursor)}`, headers: bearer(dana.accessToken) });
    expectProblem(otherSort, 422, 'validation_failed');

    expectProblem(await t.app.inject({ url: '/api/v1/files?sort=owner', headers: bearer(dana.accessToken) }), 422, 'validation_failed');
    expectProblem(await t.app.inject({ url: '/api/v1/files?limit=0', headers: bearer(dana.accessToken) }), 422, 'validation_failed');
    expectProblem(await t.app.inject({ url: '/api/v1/files?limit=101', headers: bearer(dana.accessToken) }), 422, 'validation_failed');
  });

  it('GET /files/duplicates groups identical content, most reclaimable first, oldest copy first', async () => {
    const big = pngBytes(3000);
    const small = pngBytes(1000);
    const ids: Record<string, string[]> = { big: [], small: [] };
    for (const [key, data, copies] of [['big', big, 2], ['small', small, 4]] as const) {
      for (let i = 0; i < copies; i++) {
        const res = await uploadFile(t, erin.accessToken, data, `${key}-${i}.bin`);
        ids[key]!.push(res.json<FileBody>().id);
      }
    }
    await uploadFile(t, erin.accessToken, pngBytes(5000), 'unique.bin');
    // bob's copy of the same bytes is not erin's duplicate
    await uploadFile(t, dana.accessToken, big, 'same-bytes.bin');

    const res = await t.app.inject({ url: '/api/v1/files/duplicates', headers: bearer(erin.accessToken) });
    expect(res.statusCode, res.body).toBe(200);
    const report = res.json<{ items: { sha256: string; size: number; copies: number; reclaimable_bytes: number; files: FileBody[] }[]; next_cursor: null; group_count: number; reclaimable_bytes: number }>();
    expect(report.group_count).toBe(2);
    expect(report.reclaimable_bytes).toBe(3000 + 3 * 1000);
    expect(report.next_cursor).toBeNull();
    expect(report.items.map((g) => [g.sha256, g.size, g.copies, g.reclaimable_bytes])).toEqual([
      [sha256(small), 1000, 4, 3000],
      [sha256(big), 3000, 2, 3000],
    ].sort((a, b) => (b[3] as number) - (a[3] as number) || String(a[0]).localeCompare(String(b[0]))));
    const smallGroup = report.items.find((g) => g.sha256 === sha256(small))!;
    expect(smallGroup.files.map((f) => f.id)).toEqual(ids.small);

    const page1 = await t.app.inject({ url: '/api/v1/files/duplicates?limit=1', headers: bearer(erin.accessToken) });
    const p1 = page1.json<{ items: { sha256: string }[]; next_cursor: string }>();
    expect(p1.items).toHaveLength(1);
    const page2 = await t.app.inject({ url: `/api/v1/files/duplicates?limit=1&cursor=${encodeURIComponent(p1.next_cursor)}`, headers: bearer(erin.accessToken) });
    const p2 = page2.json<{ items: { sha256: string }[]; next_cursor: null }>();
    expect(p2.next_cursor).toBeNull();
    expect([p1.items[0]!.sha256, p2.items[0]!.sha256]).toEqual(report.items.map((g) => g.sha256));
    const tampered = await t.app.inject({ url: `/api/v1/files/duplicates?cursor=${encodeURIComponent(`${p1.next_cursor}A`)}`, headers: bearer(erin.accessToken) });
    expectProblem(tampered, 422, 'validation_failed');
  });
});

describe(`files: settings (${BACKEND})`, () => {
  let t: TestApp;
  let user: SignedIn;

  beforeAll(async () => {
    t = await createTestApp({ env: { LOG_LEVEL: 'info', ALLOWED_FILE_TYPES: 'image/*,image/svg+xml', RATE_LIMIT_FILE_DELETE: '2/minute' } });
    user = await signedInUser(t);
  });
  afterAll(() => t?.close());

  it('ALLOWED_FILE_TYPES decides: image/* only refuses text; naming image/svg+xml lets SVG in', async () => {
    expectProblem(await uploadFile(t, user.accessToken, SAMPLES.text, 'a.txt'), 415, 'file_type_not_allowed');
    expectProblem(await uploadFile(t, user.accessToken, SAMPLES.pdf, 'a.pdf'), 415, 'file_type_not_allowed');
    expect((await uploadFile(t, user.accessToken, SAMPLES.png, 'a.png')).statusCode).toBe(201);
    const svg = await uploadFile(t, user.accessToken, SAMPLES.svg, 'a.svg');
    expect(svg.statusCode).toBe(201);
    expect(svg.json<FileBody>().content_type).toBe('image/svg+xml');
  });

  it('RATE_LIMIT_FILE_DELETE limits deletions: the third in a minute is 429 with Retry-After', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await uploadFile(t, user.accessToken, SAMPLES.png, `p${i}.png`)).json<FileBody>().id);
    for (const id of ids.slice(0, 2)) {
      expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/files/${id}`, headers: bearer(user.accessToken) })).statusCode).toBe(204);
    }
    const limited = await t.app.inject({ method: 'DELETE', url: `/api/v1/files/${ids[2]}`, headers: bearer(user.accessToken) });
    expectProblem(limited, 429, 'rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['ratelimit-limit']).toBe('2');
    expect((await t.app.inject({ url: `/api/v1/files/${ids[2]}`, headers: bearer(user.accessToken) })).statusCode).toBe(200);
  });
});
