import { randomBytes } from 'node:crypto';
import { request as httpRequest, type ClientRequest } from 'node:http';
import type { TestApp } from './test-app.js';
import { bearer } from './auth.js';

export interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer | string;
}

/** A multipart/form-data body, built by hand so tests control every byte of it. */
export function multipart(parts: FormPart[]): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----tessera${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    head += '\r\n';
    if (part.contentType || part.filename !== undefined) head += `Content-Type: ${part.contentType ?? 'application/octet-stream'}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`, 'utf8'), Buffer.isBuffer(part.data) ? part.data : Buffer.from(part.data, 'utf8'), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

/** POST /files with one file in the field "file". */
export function uploadFile(t: TestApp, token: string, data: Buffer | string, filename = 'notes.txt', contentType = 'application/octet-stream') {
  const { payload, headers } = multipart([{ name: 'file', filename, contentType, data }]);
  return t.app.inject({ method: 'POST', url: '/api/v1/files', payload, headers: { ...headers, ...bearer(token) } });
}

export interface FileBody {
  id: string;
  name: string;
  size: number;
  content_type: string;
  sha256: string;
  created_at: string;
  updated_at: string;
}

/** `size` bytes that sniff as a PNG (its signature, then random bytes): allowed by the default ALLOWED_FILE_TYPES. */
export function pngBytes(size: number): Buffer {
  const data = randomBytes(size);
  Buffer.from('89504e470d0a1a0a', 'hex').copy(data, 0, 0, Math.min(8, size));
  return data;
}

/** Small, valid files of a few types (magic numbers first). */
export const SAMPLES = {
  png: Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), randomBytes(64)]),
  pdf: Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n'),
  exe: Buffer.concat([Buffer.from('MZ'), Buffer.alloc(58), Buffer.from([0x80, 0, 0, 0]), randomBytes(200)]),
  html: Buffer.from('<!DOCTYPE html>\n<html><body><script>alert(document.cookie)</script></body></html>\n'),
  svg: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="4"/></svg>'),
  text: Buffer.from('Declutter: keep what matters.\n'),
} as const;

export interface StreamedUpload {
  request: ClientRequest;
  /** the answer (or the connection error if there was none) */
  done: Promise<{ status: number; body: string; headers: Record<string, unknown> } | { error: Error }>;
}

/**
 * POST /files to a listening server with the file's bytes coming from `source` as they are
 * produced: nothing is held whole in memory. With `size` the request has a Content-Length;
 * without, it is chunked.
 */
export function streamUpload(port: number, token: string, source: AsyncIterable<Buffer>, options: { filename?: string; size?: number } = {}): StreamedUpload {
  const boundary = `----tessera${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${options.filename ?? 'big.bin'}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const headers: Record<string, string | number> = {
    'content-type': `multipart/form-data; boundary=${boundary}`,
    authorization: `Bearer ${token}`,
  };
  if (options.size !== undefined) headers['content-length'] = head.length + options.size + tail.length;
  const request = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/api/v1/files', headers });
  const done = new Promise<{ status: number; body: string; headers: Record<string, unknown> } | { error: Error }>((resolve) => {
    request.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', (error) => resolve({ error }));
    });
    request.on('error', (error) => resolve({ error }));
  });
  void (async () => {
    try {
      request.write(head);
      for await (const chunk of source) {
        if (request.destroyed) return;
        if (!request.write(chunk)) await new Promise((resolve) => request.once('drain', resolve).once('close', resolve));
      }
      request.end(tail);
    } catch {
      // the test destroyed the request or the server cut it: `done` tells
    }
  })();
  return { request, done };
}

/** `total` bytes in 64 KiB chunks, generated as they are read; the first bytes make it a PNG. */
export async function* generatedBytes(total: number, options: { chunk?: number; pauseMs?: number } = {}): AsyncGenerator<Buffer> {
  const size = options.chunk ?? 64 * 1024;
  const block = pngBytes(size);
  let sent = 0;
  while (sent < total) {
    const n = Math.min(size, total - sent);
    yield block.subarray(0, n); // the same bytes each time: never changed, so safe to reuse
    sent += n;
    if (options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
  }
}

/** How many file rows the user has. */
export async function fileRowsOf(t: TestApp, userId: string): Promise<number> {
  return (await t.container.database.db.selectFrom('files').select('id').where('user_id', '=', userId).execute()).length;
}

/** How many quota reservations (uploads in flight, or not yet given back) the user has. */
export async function reservationsOf(t: TestApp, userId: string): Promise<number> {
  return (await t.container.database.db.selectFrom('storage_reservations').select('id').where('user_id', '=', userId).execute()).length;
}
