/**
 * Where a password login's CPU goes, against the hash-only yardstick: CPU per login by thread
 * (the main thread; the others: the hashing threads running argon2id, V8's helpers) from
 * /proc/<pid>/task/*\/stat, and PostgreSQL + Redis from their processes.
 *
 *   node --import tsx bench/login-cpu.ts [--backend embedded|postgres] [--seconds 4] [--cheap]
 *
 * `--cheap`: both servers hash with m = 1 MiB, t = 1 instead of the defaults, so the hashing
 * threads leave the cores mostly free. What each login costs beyond its hash then shows as it is
 * on an idle core; with the real parameters the same work costs 2–3× more CPU on this 2-vCPU VM,
 * each core shared with a hash that has just swept 19 MiB through the caches.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { LOGIN_WARM_SECONDS, signUp, startBareArgon2 } from './auth.js';
import { load, type LoadRequest } from './load.js';
import { benchStores, startTessera, stopChild } from './servers.js';

const { values } = parseArgs({
  options: { backend: { type: 'string', default: 'embedded' }, seconds: { type: 'string', default: '4' }, cheap: { type: 'boolean', default: false } },
});
const HIGH = '1000000000/minute';
const argon2: Record<string, string> = values.cheap ? { ARGON2_MEMORY_KIB: '1024', ARGON2_ITERATIONS: '1' } : {};
const env: Record<string, string> = { RATE_LIMIT_API: HIGH, RATE_LIMIT_LOGIN: HIGH, RATE_LIMIT_REGISTER: HIGH, ...argon2 };
// Its own database and keys, dropped at the end.
const stores = values.backend === 'postgres' ? await benchStores(`tessera_login_cpu_${process.pid}`) : null;
Object.assign(env, stores?.env);

/** CPU ms so far: the main thread, the process's other threads, every postgres and every redis-server process. */
function cpu(pid: number): { main: number; others: number; postgres: number; redis: number } {
  const ms = (stat: string) => {
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // clock ticks (USER_HZ 100) → ms
  };
  let main = 0;
  let others = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const t = ms(fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      if (tid === String(pid)) main += t;
      else others += t;
    } catch {
      // a thread that ended meanwhile
    }
  }
  let postgres = 0;
  let redis = 0;
  for (const p of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const comm = fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim();
      if (comm !== 'postgres' && comm !== 'redis-server') continue;
      const t = ms(fs.readFileSync(`/proc/${p}/stat`, 'utf8'));
      if (comm === 'postgres') postgres += t;
      else redis += t;
    } catch {
      // gone
    }
  }
  return { main, others, postgres, redis };
}

async function measure(name: string, pid: number, url: string, req: LoadRequest, seconds: number) {
  const before = cpu(pid);
  const r = await load(url, req, seconds, 4);
  const after = cpu(pid);
  const n = r.rps * seconds;
  const per = (k: keyof typeof before) => ((after[k] - before[k]) / n).toFixed(2);
  console.log(`${name}: ${r.rps.toFixed(0)}/s; ms of CPU per request: main thread ${per('main')}, other threads ${per('others')}, postgres ${per('postgres')}, redis ${per('redis')}`);
}

const seconds = Number(values.seconds);
const tessera = await startTessera(env);
const account = await signUp(tessera.url);
const bare = await startBareArgon2(account.password, argon2);
try {
  const login: LoadRequest = { path: '/api/v1/auth/login', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: account.email, password: account.password }) };
  const hashOnly: LoadRequest = { path: '/bare', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: account.password }) };
  await load(tessera.url, login, LOGIN_WARM_SECONDS, 4); // past the cold start, as in bench/run.ts
  for (let i = 0; i < 2; i++) {
    await measure(`tessera login (${values.backend})`, tessera.pid, tessera.url, login, seconds);
    await measure('argon2id alone       ', bare.pid, bare.url, hashOnly, seconds);
  }
} finally {
  await bare.stop();
  await stopChild(tessera.child);
  await stores?.drop();
}
