/**
 * The yardstick: a bare Fastify server answering each benchmarked path with exactly the bytes
 * Tessera answered it with (captured by the runner and passed in), nothing else.
 */
import Fastify from 'fastify';

const port = Number(process.env.BARE_PORT ?? 0);
const routes = JSON.parse(process.env.BARE_ROUTES ?? '[]') as { path: string; body: string; contentType: string }[];

const app = Fastify({ logger: false });
for (const r of routes) {
  app.get(r.path, async (_req, reply) => reply.type(r.contentType).send(r.body));
}
await app.listen({ host: '127.0.0.1', port });
process.send?.({ ready: true });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
