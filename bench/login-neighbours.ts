/**
 * What a burst of sign-ins does to the rest of the API: profile reads at a fixed, modest rate
 * (200/s, one connection) while 4 connections sign in as fast as the server answers, on a
 * server whose hashing threads run below the event loop (ARGON2_NICE=10, the default) and on
 * one where they run at its priority (ARGON2_NICE=0). The servers are loaded in turn, A B B A …,
 * and each round reports the profile reads' p90 / p99 and the sign-in rate.
 *
 *   node --import tsx bench/login-neighbours.ts [--backend embedded|postgres] [--rounds 4] [--seconds 8]
 */
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { load } from './load.js';
import { userWithPublicProfile } from './profiles.js';
import { benchStores, startTessera, type Running } from './servers.js';

const { values } = parseArgs({
  options: { backend: { type: 'string', default: 'embedded' }, rounds: { type: 'string', default: '4' }, seconds: { type: 'string', default: '8' } },
});
const seconds = Number(values.seconds);
const HIGH = '1000000000/minute';
const env: Record<string, string> = { RATE_LIMIT_API: HIGH, RATE_LIMIT_LOGIN: HIGH, RATE_LIMIT_REGISTER: HIGH, PROFILE_UPDATE_RATE_LIMIT: HIGH };

async function side(nice: string, stores: Awaited<ReturnType<typeof benchStores>> | null) {
  const server = await startTessera({ ...env, ...stores?.env, ARGON2_NICE: nice });
  const user = await userWithPublicProfile(server.url);
  const login = { path: '/api/v1/auth/login', method: 'POST' as const, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: user.email, password: user.password }) };
  await load(server.url, login, 5, 4); // the login path past its cold start
  return { nice, server, login, profile: `${server.url}/api/v1/users/${user.id}/profile` };
}

async function round(s: Awaited<ReturnType<typeof side>>) {
  const [signIns, reads] = await Promise.all([
    load(s.server.url, s.login, seconds, 4),
    autocannon({ url: s.profile, connections: 1, overallRate: 200, duration: seconds }),
  ]);
  return { signInsPerSecond: signIns.rps, p90: reads.latency.p90, p99: reads.latency.p99, reads: reads.requests.total, non2xx: reads.non2xx + signIns.non2xx };
}

const servers: Running[] = [];
const stores = values.backend === 'postgres' ? await Promise.all([benchStores(`tessera_neigh_a_${process.pid}`), benchStores(`tessera_neigh_b_${process.pid}`)]) : null;
try {
  const sides = [await side('10', stores?.[0] ?? null), await side('0', stores?.[1] ?? null)];
  servers.push(...sides.map((s) => s.server));
  console.log('| round | ARGON2_NICE | sign-ins/s | profile read p90 | p99 | reads | non-2xx |\n| --- | --- | --- | --- | --- | --- | --- |');
  for (let i = 0; i < Number(values.rounds); i++) {
    for (const s of i % 2 === 0 ? sides : [...sides].reverse()) {
      const r = await round(s);
      console.log(`| ${i + 1} | ${s.nice} | ${r.signInsPerSecond.toFixed(0)} | ${r.p90} ms | ${r.p99} ms | ${r.reads} | ${r.non2xx} |`);
    }
  }
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  await Promise.all((stores ?? []).map((s) => s.drop()));
}
