import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Container } from '../../container.js';
import { withTimeout } from '../../db/database.js';

type DependencyState = 'ok' | 'down' | 'disabled';

const HealthSchema = Type.Object({ status: Type.Literal('healthy'), version: Type.String() });
const ReadySchema = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
  database: Type.String(),
  redis: Type.String(),
  storage: Type.String(),
});

const CHECK_TIMEOUT_MS = 2_000;

async function probe(check: () => Promise<void>): Promise<DependencyState> {
  try {
    await withTimeout(check(), CHECK_TIMEOUT_MS, 'readiness check timed out');
    return 'ok';
  } catch {
    return 'down';
  }
}

export function healthRoutes(app: FastifyInstance, container: Container): void {
  const { database, kv, storage, config, metrics } = container;

  // Liveness: no I/O, so a slow database never gets a healthy process restarted.
  app.get(
    '/health',
    { schema: { tags: ['operations'], response: { 200: HealthSchema } }, config: { apiRateLimit: false } },
    async () => ({ status: 'healthy' as const, version: config.version }),
  );

  // Readiness: every configured dependency answers, or 503 so the load balancer looks elsewhere.
  app.get(
    '/ready',
    { schema: { tags: ['operations'], response: { 200: ReadySchema, 503: ReadySchema } }, config: { apiRateLimit: false } },
    async (_request, reply) => {
      const [db, redis, store] = await Promise.all([
        probe(() => database.ping(CHECK_TIMEOUT_MS)),
        kv.kind === 'redis' ? probe(() => kv.ping()) : Promise.resolve<DependencyState>('disabled'),
        probe(() => storage.check()),
      ]);
      const states = { database: db, redis, storage: store };
      for (const [dependency, state] of Object.entries(states)) {
        if (state !== 'disabled') metrics.dependencyUp.set({ dependency }, state === 'ok' ? 1 : 0);
      }
      const ready = !Object.values(states).includes('down');
      reply.header('cache-control', 'no-store');
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', ...states });
    },
  );
}
