/**
 * A/B of two Tessera builds on one request, the way each hot-path change was kept or dropped:
 * both builds run side by side (each from its own checkout, built), the same request alternates
 * between them (A B, then B A, …), and each round's ratio is taken while both shared the
 * moment. Prints CPU µs per request (the server process, all threads) and the median ratios.
 *
 *   node --import tsx bench/ab.ts --a /path/to/other/checkout [--b .] [--what me|health|public|own|login]
 *                                 [--backend embedded|postgres] [--seconds 2] [--rounds 8]
 *                                 [--a-node-args "--flag …"] [--b-node-args "…"] [--env NAME=VALUE …]
 *
 * The same checkout for both, with different Node flags, measures a flag: `--a . --b-node-args …`.
 * `login` (POST /auth/login, 4 connections) measures what a sign-in costs beyond its hash: with
 * `--env ARGON2_MEMORY_KIB=1024 --env ARGON2_ITERATIONS=1` the hash is a small share, so a change
 * to the rest shows instead of drowning in the VM's noise on a 19 MiB hash.
 *
 * A checkout for A: `git worktree add /tmp/a <commit> && cd /tmp/a && ln -s "$OLDPWD/node_modules" && npm run build`.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { interleavedRounds, type RoundSide } from './load.js';
import { median } from './measure.js';
import { userWithPublicProfile } from './profiles.js';
import { benchStores, removeDir, ROOT, startTessera, stopChild } from './servers.js';

const { values } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string', default: ROOT },
    what: { type: 'string', default: 'me' },
    backend: { type: 'string', default: 'embedded' },
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '8' },
    'a-node-args': { type: 'string', default: '' },
    'b-node-args': { type: 'string', default: '' },
    env: { type: 'string', multiple: true, default: [] },
  },
});
if (!values.a) {
  console.error('usage: bench/ab.ts --a <checkout> [--b <checkout>] [--what me|health|public|own] [--backend embedded|postgres]');
  process.exit(2);
}
const HIGH = '1000000000/minute';
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);

async function start(root: string, name: 'A' | 'B') {
  const env: Record<string, string> = {
    RATE_LIMIT_API: HIGH,
    RATE_LIMIT_LOGIN: HIGH,
    RATE_LIMIT_REGISTER: HIGH,
    PROFILE_UPDATE_RATE_LIMIT: HIGH,
  };
  // --env NAME=VALUE (repeatable): a setting for both, e.g. --env LOG_LEVEL=info
  for (const pair of values.env) {
    const eq = pair.indexOf('=');
    if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const stores = values.backend === 'postgres' ? await benchStores(`tessera_ab_${process.pid}_${name.toLowerCase()}`) : null;
  Object.assign(env, stores?.env);
  const nodeArgs = (name === 'A' ? values['a-node-args'] : values['b-node-args']).split(' ').filter(Boolean);
  const { url, pid, child, dataDir } = await startTessera(env, undefined, { root, nodeArgs });
  const user = await userWithPublicProfile(url);
  const auth = { authorization: `Bearer ${user.accessToken}` };
  const requests: Record<string, Omit<RoundSide, 'name' | 'url' | 'pid'> & { path: string }> = {
    me: { path: '/api/v1/auth/me', headers: auth },
    health: { path: '/health', headers: {} },
    public: { path: `/api/v1/users/${user.id}/profile`, headers: {} },
    own: { path: '/api/v1/users/me/profile', headers: auth },
    login: {
      path: '/api/v1/auth/login',
      headers: { 'content-type': 'application/json' },
      method: 'POST',
      body: JSON.stringify({ email: user.email, password: user.password }),
      connections: 4,
    },
  };
  const request = requests[values.what];
  if (!request) throw new Error(`--what: me, health, public, own or login`);
  return { name, ...request, url: url + request.path, pid, child, dataDir, stores };
}

const servers = [await start(path.resolve(values.a), 'A'), await start(path.resolve(values.b), 'B')] as const;
try {
  const [a, b] = await interleavedRounds(servers, rounds, seconds);
  const fmt = (n: number) => n.toFixed(1);
  console.log(`${values.what} (${values.backend}), ${rounds} rounds of ${seconds} s`);
  console.log(`A ${values.a}: CPU µs/request median ${fmt(median(a!.us))}, min ${fmt(Math.min(...a!.us))}`);
  console.log(`B ${values.b}: CPU µs/request median ${fmt(median(b!.us))}, min ${fmt(Math.min(...b!.us))}`);
  console.log(`B/A req/s, median of the rounds' ratios: ${median(a!.rps.map((x, k) => b!.rps[k]! / x)).toFixed(3)}`);
  console.log(`A/B CPU per request, median of the rounds' ratios: ${median(a!.us.map((x, k) => x / b!.us[k]!)).toFixed(3)}`);
} finally {
  for (const s of servers) {
    await stopChild(s.child);
    removeDir(s.dataDir);
    await s.stores?.drop();
  }
}
