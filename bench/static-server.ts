/**
 * Child process, the download yardstick: a bare Fastify serving STATIC_ROOT with
 * @fastify/static under /static/ (what a plain Node file server does), nothing else.
 */
import fastifyStatic from '@fastify/static';
import Fastify from 'fastify';

const app = Fastify({ logger: false });
await app.register(fastifyStatic, { root: process.env.STATIC_ROOT ?? '/nonexistent', prefix: '/static/' });
await app.listen({ host: '127.0.0.1', port: Number(process.env.STATIC_PORT ?? 0) });
process.send?.({ ready: true });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
