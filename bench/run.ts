/**
 * `npm run bench`: every figure as a ratio measured side by side in one run, on this machine.
 *   --seconds N          length of each measured run (default 5); the same-bytes scenarios
 *                        (SCENARIOS) run six adjacent pairs of N/2 s each, ratio = median pair
 *   --backend embedded|postgres|both   (default both)
 *   --only TEXT          only scenarios whose name contains TEXT; also selects among `login`,
 *                        `refresh`, `client_credentials`, `avatar`, `upload local`, `upload s3`,
 *                        `download`, `realtime websocket`, `in force` (e.g. `--only upload`, `--only realtime`)
 */
import { parseArgs } from 'node:util';
import { clientCredentials, inForceLatency, LOGIN_WARM_SECONDS, loginVsHash, refreshRotations } from './auth.js';
import { benchAvatars } from './avatars.js';
import { benchDownload, benchLocalUpload, benchS3Upload, FILES_ENV } from './files.js';
import { compare, type LoadRequest } from './load.js';
import { benchWeb } from './web.js';
import { fmt, median, type Cells } from './measure.js';
import { benchRealtime, REALTIME_ENV } from './realtime.js';
import { SCENARIOS } from './scenarios.js';
import { benchStores, removeDir, rssMb, startBare, startTessera } from './servers.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    backend: { type: 'string', default: 'both' },
    only: { type: 'string' },
  },
});
const seconds = Number(values.seconds);

// Limits stay on (their cost is part of every request) but far above the offered load.
const HIGH = '1000000000/minute';
const COMMON_ENV = {
  RATE_LIMIT_API: HIGH,
  RATE_LIMIT_LOGIN: HIGH,
  RATE_LIMIT_REGISTER: HIGH,
  RATE_LIMIT_REFRESH: HIGH,
  RATE_LIMIT_SERVICE_TOKEN: HIGH,
  PROFILE_UPDATE_RATE_LIMIT: HIGH,
  AVATAR_UPLOAD_RATE_LIMIT: HIGH,
  ...FILES_ENV,
  ...REALTIME_ENV,
  // No line per request, as behind a proxy that keeps the access log (deploy/nginx). The default,
  // info (one access line per request), has its own row for /health.
  LOG_LEVEL: 'warn',
};

function row(cells: (string | number)[]) {
  const line = `| ${cells.join(' | ')} |`;
  console.log(line);
}

/**
 * One same-bytes row: what Tessera answers `req` with is captured, a bare Fastify route serves
 * exactly those bytes, and the two are loaded in adjacent pairs (`compare`).
 */
async function sameBytesRow(backend: string, name: string, goal: number, baseUrl: string, req: LoadRequest, note = '') {
  const sample = await fetch(baseUrl + req.path, { method: req.method ?? 'GET', headers: req.headers ?? {}, body: req.body ?? null });
  const body = await sample.text();
  const bare = await startBare([{ path: '/bare', body, contentType: sample.headers.get('content-type') ?? 'application/json' }]);
  try {
    const r = await compare(baseUrl, bare.url, req, { path: '/bare' }, seconds);
    const verdict = goal ? (r.ratio >= goal ? `≥ ${goal} ✓` : `< ${goal} ✗`) : '';
    const spread = `pairs ${fmt(r.ratios[0]!, 2)}–${fmt(r.ratios[r.ratios.length - 1]!, 2)}×`;
    row([backend, name, `${fmt(r.ours.rps)} req/s`, `${fmt(r.bare.rps)} req/s`, `${fmt(r.ratio, 2)}×`, verdict, `median of ${r.ratios.length} adjacent pairs (${spread}); p99 ${r.ours.p99} ms vs ${r.bare.p99} ms${r.oursNon2xx ? `, ${r.oursNon2xx} non-2xx or errors!` : ''}${note}`]);
  } finally {
    await bare.stop();
  }
}

async function benchBackend(backend: 'embedded' | 'postgres') {
  // This run's own database and keys: two benches at once (or one beside bench/ab.ts) never share them.
  const stores = backend === 'postgres' ? await benchStores(`tessera_bench_${process.pid}`) : null;
  const env: Record<string, string> = { ...COMMON_ENV, ...stores?.env };

  // Start-up: the first start creates the database; the second finds it.
  const first = await startTessera(env);
  const firstMs = first.startMs;
  await first.stop();
  const tessera = await startTessera(env, first.dataDir);
  await new Promise((r) => setTimeout(r, 1000));
  const idleRss = rssMb(tessera.pid);
  row([backend, 'start-up: first start to /ready 200 (creates the database)', `${fmt(firstMs)} ms`, '', '', '', '']);
  row([backend, 'start-up: restart to /ready 200', `${fmt(tessera.startMs)} ms`, '', '', '', '']);
  row([backend, 'idle RSS after start', `${fmt(idleRss, 1)} MB`, '', '', '', '']);

  try {
    for (const scenario of SCENARIOS) {
      if (values.only && !scenario.name.includes(values.only)) continue;
      await sameBytesRow(backend, scenario.name, scenario.goal, tessera.url, await scenario.prepare(tessera.url));
    }
    const infoRow = `GET /health at the default LOG_LEVEL=info (one access line per request, stdout to /dev/null)`;
    if (backend === backends[0] && (!values.only || infoRow.includes(values.only))) {
      const logging = await startTessera({ ...env, LOG_LEVEL: 'info' });
      try {
        await sameBytesRow(backend, infoRow, 0, logging.url, { path: '/health' }, '; the goal row above is at LOG_LEVEL=warn');
      } finally {
        await logging.stop();
        removeDir(logging.dataDir);
      }
    }
    if (!values.only || 'login'.includes(values.only)) {
      const r = await loginVsHash(tessera.url, seconds);
      const spread = `pairs ${fmt(r.ratios[0]!, 2)}–${fmt(r.ratios.at(-1)!, 2)}×`;
      const cold = `first ${seconds} s of a fresh server: ${fmt(r.cold.ours.rps)} against ${fmt(r.cold.bare.rps)}/s, ${fmt(r.cold.ratio, 2)}×`;
      row([backend, `POST /api/v1/auth/login vs argon2id verify alone (same parameters), after ${LOGIN_WARM_SECONDS} s of logins`, `${fmt(r.ours.rps)} req/s`, `${fmt(r.bare.rps)} hash/s`, `${fmt(r.ratio, 2)}×`, r.ratio >= 0.9 ? '≥ 0.9 ✓' : '< 0.9 ✗', `median of 4 adjacent pairs (${spread}); p99 ${r.ours.p99} ms vs ${r.bare.p99} ms; ${cold}${r.oursNon2xx || r.cold.ours.non2xx ? `; ${r.oursNon2xx + r.cold.ours.non2xx} non-2xx!` : ''}`]);
      {
        // What Tessera costs beyond the hash and the database work every sign-in needs (no goal:
        // it shows how much of the row above the two statements take on this machine).
        const d = await loginVsHash(tessera.url, seconds, { statements: { ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}) } });
        const dSpread = `pairs ${fmt(d.ratios[0]!, 2)}–${fmt(d.ratios.at(-1)!, 2)}×`;
        row([backend, `POST /api/v1/auth/login vs argon2id verify + the sign-in's two statements (Tessera's repositories, ${backend === 'postgres' ? 'on the same PostgreSQL' : 'on an embedded database of its own'}), after ${LOGIN_WARM_SECONDS} s of logins`, `${fmt(d.ours.rps)} req/s`, `${fmt(d.bare.rps)} req/s`, `${fmt(d.ratio, 2)}×`, '', `median of 4 adjacent pairs (${dSpread}); p99 ${d.ours.p99} ms vs ${d.bare.p99} ms${d.oursNon2xx ? `; ${d.oursNon2xx} non-2xx!` : ''}`]);
      }
    }
    if (!values.only || 'refresh'.includes(values.only)) {
      const r = await refreshRotations(tessera, seconds, backend === 'postgres');
      const perCore = r.cpuUsPerRotation ? 1e6 / r.cpuUsPerRotation : 0;
      const side = backend === 'postgres' ? 'Tessera + PostgreSQL + Redis' : 'Tessera';
      row([backend, 'refresh-token rotations (10 concurrent chains; per core = per second of server-side CPU)', `${fmt(r.rps)} /s; ${fmt(perCore)} /s per core`, '', '', perCore >= 1000 ? '≥ 1,000/s per core ✓' : '< 1,000/s per core ✗', `server-side CPU (${side}) ${fmt(r.cpuUsPerRotation)} µs per rotation; p99 ${r.p99} ms${r.failed ? `; ${r.failed} failed!` : ''}`]);
    }
    if (!values.only || 'in force'.includes(values.only)) {
      const r = await inForceLatency(tessera.url);
      const cost = backend === 'postgres' ? 'includes REDIS_NEAR_CACHE_MS (100 ms): every instance drops its local copies first' : 'one process: in force at once';
      for (const [what, ms] of [['sign-out (POST /api/v1/auth/logout)', r.signOut], ['privacy change (PATCH /api/v1/users/me/preferences)', r.privacy]] as const) {
        row([backend, `in force everywhere: ${what}, time to answer`, `p50 ${fmt(median(ms), 1)} ms`, '', '', '', `max ${fmt(Math.max(...ms), 1)} ms of ${ms.length}, one at a time; ${cost}`]);
      }
    }
    if (backend === 'postgres' && env.DATABASE_URL && (!values.only || 'client_credentials'.includes(values.only))) {
      const r = await clientCredentials(tessera, env.DATABASE_URL, seconds);
      const perCore = 1e6 / r.cpuUsPerGrant;
      row([backend, 'POST /api/v1/auth/token grant_type=client_credentials (per core = per second of server-side CPU)', `${fmt(r.rps)} /s; ${fmt(perCore)} /s per core`, '', '', perCore >= 1200 ? '≥ 1,200/s per core ✓' : '< 1,200/s per core ✗', `server-side CPU (Tessera + PostgreSQL + Redis) ${fmt(r.cpuUsPerGrant)} µs per grant; p99 ${r.p99} ms${r.non2xx ? `, ${r.non2xx} non-2xx!` : ''}`]);
    }
    // Issues 5–7: measurements of their own (avatars.ts, files.ts, realtime.ts). Those that don't
    // depend on the database run in the first backend's pass only.
    const sink = (cells: Cells) => row([backend, ...cells]);
    const want = (name: string) => !values.only || name.includes(values.only);
    if (backend === backends[0]) {
      if (want('avatar')) await benchAvatars(tessera, sink);
      if (want('upload local')) await benchLocalUpload(tessera, sink);
      if (want('upload s3')) await benchS3Upload(env, sink);
      if (want('download')) await benchDownload(tessera, Math.max(1, seconds / 2), sink);
    }
    if (backend === 'postgres' && want('realtime websocket')) await benchRealtime(tessera, env, sink);
    if (backend === 'embedded' && want('web')) {
      for (const line of await benchWeb(tessera.url, backend)) {
        console.log(line);
      }
    }
  } finally {
    await tessera.stop();
    removeDir(tessera.dataDir);
    await stores?.drop();
  }
}

console.log(`# npm run bench — ${new Date().toISOString()} — node ${process.version}, ${(await import('node:os')).cpus().length} cores, ${seconds} s runs`);
console.log('| backend | figure | Tessera | yardstick (bare Fastify unless named) | ratio | goal | latency / notes |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
const backends = values.backend === 'both' ? (['embedded', 'postgres'] as const) : ([values.backend] as ('embedded' | 'postgres')[]);
for (const b of backends) await benchBackend(b);
