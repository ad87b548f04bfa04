import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Container } from '../../container.js';

const HealthSchema = Type.Object({ status: Type.Literal('healthy'), version: Type.String() });
const ReadySchema = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
  database: Type.String(),
  redis: Type.String(),
  storage: Type.String(),
});

export function healthRoutes(app: FastifyInstance, container: Container): void {
  const { config, readiness } = container;

  // Liveness: no I/O, so a slow database never gets a healthy process restarted. The answer
  // never changes: serialised once. Small fixed bodies: never compressed.
  const healthy = JSON.stringify({ status: 'healthy', version: config.version });
  app.get(
    '/health',
    { schema: { tags: ['operations'], response: { 200: HealthSchema } }, config: { apiRateLimit: false }, compress: false },
    // Not `return reply`: a reply handed back before it is written (write-batching.ts) makes
    // Fastify watch the response stream for its end.
    (_request, reply) => {
      reply.type('application/json; charset=utf-8').send(healthy);
    },
  );

  // Readiness: every configured dependency answers, or 503 so the load balancer looks elsewhere.
  app.get(
    '/ready',
    { schema: { tags: ['operations'], response: { 200: ReadySchema, 503: ReadySchema } }, config: { apiRateLimit: false }, compress: false },
    async (_request, reply) => {
      const states = await readiness();
      const ready = !Object.values(states).includes('down');
      reply.header('cache-control', 'no-store');
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', ...states });
    },
  );
}
