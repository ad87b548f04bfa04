/**
 * The yardstick for password login: a bare Fastify route that only verifies one argon2id hash
 * with the same parameters Tessera uses, so the ratio shows what login costs beyond the hash.
 */
import { hash, verify } from '@node-rs/argon2';
import Fastify from 'fastify';

const password = process.env.BARE_PASSWORD ?? 'Correct-Horse-9!';
const stored = await hash(password, {
  algorithm: 2, // Argon2id
  memoryCost: Number(process.env.ARGON2_MEMORY_KIB ?? 19_456),
  timeCost: Number(process.env.ARGON2_ITERATIONS ?? 2),
  parallelism: Number(process.env.ARGON2_PARALLELISM ?? 1),
});
const app = Fastify({ logger: false });
app.post('/bare', async (request, reply) => {
  const body = request.body as { password?: string };
  const ok = await verify(stored, body.password ?? '');
  return reply.code(ok ? 200 : 401).send({ ok });
});
await app.listen({ host: '127.0.0.1', port: Number(process.env.BARE_PORT) });
process.send?.({ ready: true });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
