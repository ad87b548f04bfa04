/**
 * The yardstick: a bare Fastify server answering each benchmarked path with exactly the bytes
 * Tessera answered it with (captured by the runner and passed in), nothing else. A route may
 * also carry fixed response headers, and a fresh X-Request-Id per request, and Tessera's write
 * batching (bench/headers-cost.ts: what the headers alone cost, and what batching alone gives).
 */
import Fastify from 'fastify';
import { randomUUID } from 'node:crypto';
import { registerWriteBatching } from '../src/http/plugins/write-batching.js';

const port = Number(process.env.BARE_PORT ?? 0);
const routes = JSON.parse(process.env.BARE_ROUTES ?? '[]') as { path: string; body: string; contentType: string; headers?: Record<string, string>; requestId?: boolean; batched?: boolean }[];

const app = Fastify({ logger: false });
for (const r of routes) {
  const headers = r.headers;
  // Each route in its own scope: a batched one gets Tessera's write batching, the others don't.
  await app.register(async (scope) => {
    if (r.batched) registerWriteBatching(scope);
    if (!headers) {
      scope.get(r.path, async (_req, reply) => reply.type(r.contentType).send(r.body));
    } else if (r.requestId) {
      scope.get(r.path, async (_req, reply) => reply.headers(headers).header('x-request-id', randomUUID()).type(r.contentType).send(r.body));
    } else {
      scope.get(r.path, async (_req, reply) => reply.headers(headers).type(r.contentType).send(r.body));
    }
  });
}
await app.listen({ host: '127.0.0.1', port });
process.send?.({ ready: true });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
