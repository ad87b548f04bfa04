/**
 * Child process, the HTTP floor of an upload: a bare node:http server that pipes each request
 * body, as it comes (no multipart parsing, no hashing), into a new file under SINK_DIR.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

const dir = process.env.SINK_DIR ?? '/nonexistent';
const server = http.createServer((req, res) => {
  pipeline(req, createWriteStream(path.join(dir, randomUUID()))).then(
    () => res.writeHead(201, { 'content-type': 'application/json' }).end('{}'),
    () => res.writeHead(500).end(),
  );
});
server.listen(Number(process.env.SINK_PORT ?? 0), '127.0.0.1', () => process.send?.({ ready: true }));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
