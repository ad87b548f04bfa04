/**
 * What the response headers alone cost, against the same-bytes yardstick: Tessera, the bare
 * Fastify route (the body's bytes and Content-Type only: `npm run bench`'s yardstick), and the
 * same bare route sending every header Tessera sent too (security headers, Cache-Control, Vary,
 * RateLimit-*, a fresh X-Request-Id each time), and that route with Tessera's write batching
 * (what batching alone gives a route that does nothing else), interleaved in rounds. Prints
 * req/s and CPU µs per request of each, and the ratios.
 *
 *   node --import tsx bench/headers-cost.ts [--what health|me|public|own] [--backend embedded|postgres] [--rounds 6] [--seconds 2]
 */
import { parseArgs } from 'node:util';
import { interleavedRounds } from './load.js';
import { median } from './measure.js';
import { SCENARIOS } from './scenarios.js';
import { benchStores, removeDir, startBare, startTessera, stopChild } from './servers.js';

const { values } = parseArgs({
  options: {
    what: { type: 'string', default: 'public' },
    backend: { type: 'string', default: 'embedded' },
    rounds: { type: 'string', default: '6' },
    seconds: { type: 'string', default: '2' },
  },
});
const pick = { health: 'GET /health', me: '/auth/me', public: '/users/:id/profile', own: '/users/me/profile' }[values.what as string];
const scenario = SCENARIOS.find((s) => pick && s.name.includes(pick));
if (!scenario) {
  console.error('--what: health, me, public or own');
  process.exit(2);
}
const HIGH = '1000000000/minute';
const env: Record<string, string> = { RATE_LIMIT_API: HIGH, RATE_LIMIT_LOGIN: HIGH, RATE_LIMIT_REGISTER: HIGH, PROFILE_UPDATE_RATE_LIMIT: HIGH };
const stores = values.backend === 'postgres' ? await benchStores(`tessera_headers_${process.pid}`) : null;
Object.assign(env, stores?.env);
const tessera = await startTessera(env);
// Not sent by a bare Fastify route either way, or sent by Node itself.
const NODE_OR_BODY = new Set(['content-type', 'content-length', 'date', 'connection', 'keep-alive', 'x-request-id']);
try {
  const req = await scenario.prepare(tessera.url);
  const res = await fetch(tessera.url + req.path, { headers: req.headers ?? {} });
  const body = await res.text();
  const contentType = res.headers.get('content-type') ?? 'application/json';
  const headers: Record<string, string> = {};
  for (const [name, value] of res.headers) if (!NODE_OR_BODY.has(name)) headers[name] = value;
  const bare = await startBare([
    { path: '/body', body, contentType },
    { path: '/headers', body, contentType, headers, requestId: true },
    { path: '/batched', body, contentType, headers, requestId: true, batched: true },
  ]);
  const sides = [
    { name: 'Tessera', url: tessera.url + req.path, headers: req.headers ?? {}, pid: tessera.pid },
    { name: 'bare, same body', url: `${bare.url}/body`, headers: {}, pid: bare.pid },
    { name: 'bare, same body and headers', url: `${bare.url}/headers`, headers: {}, pid: bare.pid },
    { name: 'bare, headers, batched writes', url: `${bare.url}/batched`, headers: {}, pid: bare.pid },
  ];
  const runs = await interleavedRounds(sides, Number(values.rounds), Number(values.seconds));
  console.log(`${scenario.name} (${values.backend}): ${Object.keys(headers).length + 1} headers besides Content-Type (${[...Object.keys(headers), 'x-request-id'].join(', ')})`);
  sides.forEach((side, k) => console.log(`  ${side.name.padEnd(28)} ${median(runs[k]!.rps).toFixed(0).padStart(7)} req/s, ${median(runs[k]!.us).toFixed(1)} µs CPU per request`));
  const ratio = (a: number, b: number) => median(runs[a]!.rps.map((x, j) => x / runs[b]!.rps[j]!)).toFixed(2);
  console.log(`  Tessera / bare (body): ${ratio(0, 1)}×; bare with the headers / bare (body): ${ratio(2, 1)}×; Tessera / bare with the headers: ${ratio(0, 2)}×`);
  console.log(`  bare with the headers, batched / without: ${ratio(3, 2)}×; Tessera / bare with the headers, batched: ${ratio(0, 3)}×`);
  await bare.stop();
} finally {
  await stopChild(tessera.child);
  removeDir(tessera.dataDir);
  await stores?.drop();
}
