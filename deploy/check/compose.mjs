#!/usr/bin/env node
// Cross-checks the resolved docker-compose.yml (JSON on stdin, from `docker compose config`)
// against the rest of the kit (used by deploy/check.sh):
//   - the app instances carry the settings the deployment needs, and every variable they set is
//     a Tessera setting (.env.example lists them all), so a misspelt name cannot pass silently;
//   - TRUST_PROXY covers nginx's address on the compose network, ALLOWED_HOSTS names the
//     instances Prometheus scrapes; nginx's upstream, Prometheus' targets and the app services
//     are the same set; the bucket is the same in the apps, minio-init and nginx;
//   - every `depends_on: condition: service_healthy` points at a service with a healthcheck,
//     and the data stores publish no ports.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const config = JSON.parse(fs.readFileSync(0, 'utf8'));
const services = config.services ?? {};
const problems = [];
const check = (ok, what) => ok || problems.push(what);

const envOf = (svc) => {
  const e = svc.environment ?? {};
  if (Array.isArray(e)) return Object.fromEntries(e.map((kv) => [kv.split('=')[0], kv.slice(kv.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v == null ? '' : String(v)]));
};
const ipv4 = (a) => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const inCidr = (addr, cidr) => {
  const [base, bits = '32'] = cidr.split('/');
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(base) || !/^\d+\.\d+\.\d+\.\d+$/.test(addr)) return false;
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipv4(addr) / size) === Math.floor(ipv4(base) / size);
};

for (const name of ['app1', 'app2', 'postgres', 'redis', 'minio', 'minio-init', 'nginx']) check(services[name], `no service ${name}`);
const apps = Object.keys(services).filter((n) => /^app\d+$/.test(n)).sort();
check(apps.length >= 2, 'fewer than two app instances');
check(new Set(apps.map((a) => services[a].image)).size === 1, 'the app instances do not share one image');

// settings
const known = new Set([...fs.readFileSync(path.join(repo, '.env.example'), 'utf8').matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
const required = {
  ENVIRONMENT: 'production',
  STORAGE_PROVIDER: 's3',
  AWS_S3_ENDPOINT: 'http://minio:9000',
  AWS_S3_FORCE_PATH_STYLE: 'true',
};
const mustSet = ['DATABASE_URL', 'REDIS_URL', 'JWT_SECRET_KEY', 'PUBLIC_URL', 'AWS_S3_BUCKET', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION', 'TRUST_PROXY', 'ALLOWED_HOSTS'];
const nginxService = services.nginx ?? {};
const nginxAddress = Object.values(nginxService.networks ?? {}).map((n) => n?.ipv4_address).find(Boolean);
const subnet = Object.values(config.networks ?? {}).flatMap((n) => n?.ipam?.config ?? []).map((c) => c.subnet).find(Boolean);
check(subnet, 'the compose network has no explicit subnet');
const buckets = new Set();
for (const name of apps) {
  const env = envOf(services[name]);
  for (const [k, v] of Object.entries(required)) check(env[k] === v, `${name}: ${k} should be ${v} (is ${env[k]})`);
  for (const k of mustSet) check(env[k], `${name}: ${k} is not set`);
  for (const k of Object.keys(env)) check(known.has(k), `${name}: ${k} is not a Tessera setting (not in .env.example)`);
  check(env.DATABASE_URL?.startsWith('postgresql://') && env.DATABASE_URL.includes('@postgres:5432/'), `${name}: DATABASE_URL does not point at the postgres service`);
  check(env.REDIS_URL?.startsWith('redis://') && env.REDIS_URL.includes('@redis:6379'), `${name}: REDIS_URL does not point at the redis service`);
  const trusted = (env.TRUST_PROXY ?? '').split(',').map((s) => s.trim());
  check(nginxAddress && trusted.some((c) => inCidr(nginxAddress, c)), `${name}: TRUST_PROXY (${env.TRUST_PROXY}) does not cover nginx's address ${nginxAddress}`);
  check(!subnet || trusted.every((c) => inCidr(c.split('/')[0], subnet)), `${name}: TRUST_PROXY (${env.TRUST_PROXY}) reaches outside the compose network ${subnet}`);
  const hosts = (env.ALLOWED_HOSTS ?? '').split(',').map((s) => s.trim());
  for (const a of apps) check(hosts.includes(a), `${name}: ALLOWED_HOSTS lacks ${a} (Prometheus scrapes ${a}:8000 directly)`);
  check(new URL(env.PUBLIC_URL ?? 'http://x').protocol === 'https:', `${name}: PUBLIC_URL should be https:// behind nginx's TLS`);
  buckets.add(env.AWS_S3_BUCKET);
  const addr = Object.values(services[name].networks ?? {}).map((n) => n?.ipv4_address).find(Boolean);
  check(addr && subnet && inCidr(addr, subnet), `${name}: no fixed address in ${subnet} (nginx resolves upstream names once)`);
}
check(buckets.size === 1, `the instances use different buckets: ${[...buckets].join(', ')}`);
const bucket = [...buckets][0];
check(envOf(services['minio-init'] ?? {}).BUCKET === bucket, `minio-init creates ${envOf(services['minio-init'] ?? {}).BUCKET}, the apps use ${bucket}`);

// nginx and Prometheus agree with the services
const nginxConf = fs.readFileSync(path.join(repo, 'deploy/nginx/nginx.conf'), 'utf8');
const upstream = /upstream tessera_app \{([\s\S]*?)\}/.exec(nginxConf)?.[1] ?? '';
const upstreamHosts = [...upstream.matchAll(/^\s*server\s+([\w.-]+):8000\b/gm)].map((m) => m[1]).sort();
check(JSON.stringify(upstreamHosts) === JSON.stringify(apps), `nginx's upstream (${upstreamHosts.join(', ')}) differs from the app services (${apps.join(', ')})`);
check(nginxConf.includes(`location /${bucket}/ {`), `nginx.conf has no location /${bucket}/ for the bucket`);
const prom = fs.readFileSync(path.join(repo, 'deploy/prometheus/prometheus.yml'), 'utf8');
const targets = [...(/job_name: tessera[\s\S]*?targets: \[([^\]]*)\]/.exec(prom)?.[1] ?? '').matchAll(/"([\w.-]+):8000"/g)].map((m) => m[1]).sort();
check(JSON.stringify(targets) === JSON.stringify(apps), `Prometheus scrapes ${targets.join(', ')}, the app services are ${apps.join(', ')}`);

// health-gated start-up, no data store on the host's ports
for (const [name, svc] of Object.entries(services)) {
  const deps = svc.depends_on ?? {};
  if (Array.isArray(deps)) continue;
  for (const [dep, cond] of Object.entries(deps)) {
    if (cond?.condition !== 'service_healthy') continue;
    const hc = services[dep]?.healthcheck;
    check(hc && !hc.disable && hc.test, `${name} waits for ${dep} to be healthy, but ${dep} has no healthcheck`);
  }
}
for (const name of apps) {
  check(services[name].healthcheck?.test, `${name} has no healthcheck`);
  for (const dep of ['postgres', 'redis', 'minio']) check(services[name].depends_on?.[dep]?.condition === 'service_healthy', `${name} does not wait for ${dep} to be healthy`);
}
for (const name of ['postgres', 'redis', 'minio', ...apps]) check(!(services[name]?.ports ?? []).length, `${name} publishes ports on the host`);

// every variable the compose file reads is explained in deploy/compose.env.example
const composeText = fs.readFileSync(path.join(repo, 'docker-compose.yml'), 'utf8');
const envExample = fs.readFileSync(path.join(repo, 'deploy/compose.env.example'), 'utf8');
for (const [, v] of composeText.matchAll(/(?<!\$)\$\{([A-Z][A-Z0-9_]*)/g)) {
  check(new RegExp(`^#?\\s*${v}=`, 'm').test(envExample), `docker-compose.yml reads \${${v}}, which deploy/compose.env.example does not list`);
}

if (problems.length) {
  console.error(`compose check:\n  - ${problems.join('\n  - ')}`);
  process.exit(1);
}
console.log(`${Object.keys(services).length} services, ${apps.length} app instances behind nginx`);
