#!/usr/bin/env node
// Rehearses the Dockerfile on this machine, without a Docker engine (used by deploy/check.sh):
//
//   build stage    the build context (the work tree less .dockerignore) copied to a temporary
//                  directory, then the stage's RUN commands (`npm ci`, `npm run build`) run there;
//   runtime stage  its apt packages present (tini), `COPY package*.json`, its `npm ci` line,
//                  its `COPY --from=build` sources, then ENTRYPOINT + CMD started with the stage's
//                  ENV (DATA_DIR and PORT moved to a temporary directory and a free port), as
//                  an unprivileged user when run as root (the image's USER), the HEALTHCHECK
//                  command run until it passes, and SIGTERM answered by a clean exit 0.
// What is read from the Dockerfile is what runs; instructions this rehearsal cannot perform on
// a host (creating the image's user, chown) are listed as skipped. Also checked: the runtime has
// no dev dependencies, and the image runs as a user other than root.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The build context: the work tree, or another directory (`--context DIR`, e.g. an export of a commit).
const contextArg = process.argv.find((a) => a.startsWith('--context='));
const repo = contextArg ? path.resolve(contextArg.slice('--context='.length)) : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const verbose = process.argv.includes('--verbose');
const keep = process.argv.includes('--keep');
const log = (...a) => verbose && console.error('[rehearsal]', ...a);

function fail(message) {
  console.error(`image rehearsal: ${message}`);
  process.exit(1);
}

// --- Dockerfile ---------------------------------------------------------------------------------
function parseDockerfile(text) {
  const logical = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (!current && /^\s*#/.test(line)) continue;
    if (/\\\s*$/.test(line)) {
      current += line.replace(/\\\s*$/, ' ');
      continue;
    }
    current += line;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  const args = {};
  const stages = [];
  for (const l of logical) {
    const m = /^(\w+)\s+([\s\S]*)$/.exec(l);
    if (!m) continue;
    const [, instr, rest] = m;
    const op = instr.toUpperCase();
    if (op === 'ARG' && stages.length === 0) {
      const [k, v] = rest.split('=');
      args[k.trim()] = v?.trim();
      continue;
    }
    if (op === 'FROM') {
      const fm = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest.trim());
      stages.push({ from: fm[1].replace(/\$\{(\w+)\}/g, (_, k) => args[k] ?? ''), name: fm[2] ?? String(stages.length), steps: [] });
      continue;
    }
    if (!stages.length) continue;
    stages.at(-1).steps.push({ op, rest: rest.trim() });
  }
  return stages;
}

function jsonArray(text, what) {
  try {
    const v = JSON.parse(text);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    // fall through
  }
  fail(`${what} is not in exec (JSON array) form: ${text}`);
}

function parseEnv(rest) {
  const env = {};
  const re = /(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g;
  let m;
  while ((m = re.exec(rest))) env[m[1]] = m[2].startsWith('"') ? JSON.parse(m[2]) : m[2];
  return env;
}

// --- .dockerignore -----------------------------------------------------------------------------
function ignoreRules() {
  const file = path.join(repo, '.dockerignore');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+/, '').replace(/\/+$/, '');
      const re = pattern
        .split('/')
        .map((part) => (part === '**' ? '.*' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
        .join('/')
        .replace(/\.\*\//g, '(?:.*/)?');
      return { negate, re: new RegExp(`^${re}$`), pattern };
    });
}

function excluded(rel, rules) {
  // Docker: a path is excluded when it or one of its parent directories matches; the last rule wins.
  const parts = rel.split('/');
  let out = false;
  for (const rule of rules) {
    for (let i = 1; i <= parts.length; i++) {
      if (rule.re.test(parts.slice(0, i).join('/'))) {
        out = !rule.negate;
        break;
      }
    }
  }
  return out;
}

function copyContext(dest) {
  const rules = ignoreRules();
  const negations = rules.filter((r) => r.negate).map((r) => r.pattern);
  let files = 0;
  const walk = (rel) => {
    const abs = path.join(repo, rel);
    for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      const skip = excluded(childRel, rules);
      if (entry.isDirectory()) {
        if (skip && !negations.some((n) => n.startsWith(`${childRel}/`))) continue;
        walk(childRel);
      } else if (!skip) {
        fs.mkdirSync(path.join(dest, rel), { recursive: true });
        fs.cpSync(path.join(repo, childRel), path.join(dest, childRel), { dereference: false, verbatimSymlinks: true });
        files++;
      }
    }
  };
  walk('');
  return files;
}

// --- helpers -----------------------------------------------------------------------------------
function sh(command, cwd, env, what) {
  log(`$ ${command}   (in ${cwd})`);
  const r = spawnSync('bash', ['-c', command], { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) fail(`${what} failed (exit ${r.status}): ${command}\n${(r.stdout + r.stderr).split('\n').slice(-30).join('\n')}`);
  return r;
}

function stripMounts(command) {
  return command.replace(/--mount=\S+\s*/g, '').trim();
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function ensureAptPackages(command) {
  // `apt-get install [-flags] pkg...` inside the RUN line: make sure each package is on this host.
  const m = /apt-get\s+install\s+((?:-\S+\s+)*)([^&;|]+)/.exec(command);
  if (!m) return [];
  const pkgs = m[2].trim().split(/\s+/);
  const missing = pkgs.filter((p) => spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' }).stdout.trim() !== 'install ok installed');
  if (missing.length) {
    if (process.getuid?.() !== 0) fail(`needs Debian packages ${missing.join(' ')} (run as root to install them)`);
    sh(`apt-get install -y --no-install-recommends ${missing.join(' ')} >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y --no-install-recommends ${missing.join(' ')} >/dev/null)`, '/', process.env, 'apt-get install');
  }
  return pkgs;
}

// --- rehearsal ---------------------------------------------------------------------------------
const stages = parseDockerfile(fs.readFileSync(path.join(repo, 'Dockerfile'), 'utf8'));
if (stages.length < 2) fail('expected a multi-stage Dockerfile');
const runtime = stages.at(-1);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-image-'));
const stageDirs = {};
const skipped = [];
const baseEnv = { PATH: process.env.PATH, HOME: work, LANG: 'C.UTF-8', npm_config_cache: process.env.npm_config_cache ?? path.join(os.homedir(), '.npm') };

let child = null;
let exitCode = 1;
try {
  // build stages
  for (const stage of stages.slice(0, -1)) {
    const dir = path.join(work, `stage-${stage.name}`);
    fs.mkdirSync(dir);
    stageDirs[stage.name] = { dir, workdir: '/' };
    const env = { ...baseEnv };
    for (const step of stage.steps) {
      if (step.op === 'WORKDIR') stageDirs[stage.name].workdir = step.rest;
      else if (step.op === 'ENV') Object.assign(env, parseEnv(step.rest));
      else if (step.op === 'COPY') {
        if (step.rest !== '. .') fail(`build stage: only \`COPY . .\` is rehearsed, found COPY ${step.rest}`);
        const n = copyContext(dir);
        log(`build context: ${n} files`);
      } else if (step.op === 'RUN') sh(stripMounts(step.rest), dir, env, `build stage RUN`);
      else skipped.push(`${stage.name}: ${step.op} ${step.rest}`);
    }
  }

  // runtime stage
  const app = path.join(work, 'app');
  const data = path.join(work, 'data');
  fs.mkdirSync(app);
  fs.mkdirSync(data);
  const env = { ...baseEnv };
  let user = 'root';
  let entrypoint = [];
  let cmd = [];
  let health = null;
  for (const step of runtime.steps) {
    switch (step.op) {
      case 'WORKDIR':
      case 'EXPOSE':
      case 'VOLUME':
      case 'STOPSIGNAL':
        break;
      case 'ENV':
        Object.assign(env, parseEnv(step.rest));
        break;
      case 'USER':
        user = step.rest;
        break;
      case 'ENTRYPOINT':
        entrypoint = jsonArray(step.rest, 'ENTRYPOINT');
        break;
      case 'CMD':
        cmd = jsonArray(step.rest, 'CMD');
        break;
      case 'HEALTHCHECK': {
        const m = /CMD\s+(\[.*\])\s*$/.exec(step.rest);
        if (!m) fail(`HEALTHCHECK must use CMD ["..."]: ${step.rest}`);
        health = jsonArray(m[1], 'HEALTHCHECK CMD');
        break;
      }
      case 'COPY': {
        const parts = step.rest.split(/\s+/);
        const flags = parts.filter((p) => p.startsWith('--'));
        const [dest, ...srcs] = parts.filter((p) => !p.startsWith('--')).reverse();
        const from = flags.find((f) => f.startsWith('--from='))?.slice(7);
        const target = path.join(app, dest);
        for (const src of srcs.reverse()) {
          let abs;
          if (from) {
            const st = stageDirs[from] ?? fail(`COPY --from=${from}: no such stage`);
            abs = path.join(st.dir, path.relative(st.workdir, src));
          } else abs = path.join(repo, src);
          if (!fs.existsSync(abs)) fail(`COPY ${step.rest}: ${src} does not exist (${abs})`);
          const to = dest.endsWith('/') ? path.join(target, path.basename(src)) : target;
          fs.cpSync(abs, to, { recursive: true });
        }
        break;
      }
      case 'RUN': {
        const command = stripMounts(step.rest);
        if (/\bapt-get\b/.test(command)) {
          const pkgs = ensureAptPackages(command);
          log(`apt packages present on this host: ${pkgs.join(' ')}`);
        } else if (/\bnpm\b/.test(command)) sh(command, app, env, 'runtime stage RUN');
        else skipped.push(`runtime: RUN ${command.slice(0, 80)}`);
        break;
      }
      default:
        skipped.push(`runtime: ${step.op} ${step.rest}`);
    }
  }
  if (!cmd.length) fail('no CMD in the runtime stage');
  if (!health) fail('no HEALTHCHECK in the runtime stage');
  if (user === 'root' || user === '0') fail('the runtime stage does not switch to a non-root USER');

  // production dependencies only: nothing the lockfile marks as needed for development alone
  // (a devDependency that a production package also needs is not marked, and may be there)
  const lock = JSON.parse(fs.readFileSync(path.join(repo, 'package-lock.json'), 'utf8'));
  const devOnly = Object.entries(lock.packages ?? {}).filter(([p, v]) => p && v.dev).map(([p]) => p);
  const leaked = devOnly.filter((p) => fs.existsSync(path.join(app, p, 'package.json')));
  if (!devOnly.length) fail('package-lock.json marks no dev-only package: cannot tell');
  if (leaked.length) fail(`dev-only packages in the runtime: ${leaked.slice(0, 10).join(', ')}${leaked.length > 10 ? ', …' : ''}`);
  for (const p of ['dist/bundle/main.js', 'bin/tessera.js', 'package.json']) if (!fs.existsSync(path.join(app, p))) fail(`runtime lacks ${p}`);

  // start it: the image's DATA_DIR and PORT moved here
  const port = await freePort();
  // TINI_SUBREAPER: tini is not PID 1 here, as it is in a container; this keeps it reaping quietly.
  Object.assign(env, { DATA_DIR: data, PORT: String(port), HOST: '127.0.0.1', TINI_SUBREAPER: '1' });
  let argv = [...entrypoint, ...cmd];
  let runAs = 'root';
  if (process.getuid?.() === 0) {
    // the image's USER: an unprivileged account that owns nothing but DATA_DIR
    runAs = 'nobody';
    fs.chmodSync(work, 0o755);
    for (const d of [app]) spawnSync('chmod', ['-R', 'go+rX', d]);
    spawnSync('chown', ['-R', 'nobody:nogroup', data]);
    env.HOME = '/nonexistent';
    argv = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', ...argv];
  }
  log(`start: ${argv.join(' ')} (port ${port})`);
  child = spawn(argv[0], argv.slice(1), { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  const started = Date.now();
  let healthy = false;
  while (Date.now() - started < 90_000) {
    if (child.exitCode !== null) fail(`the service exited (${child.exitCode}) before it was healthy:\n${output.split('\n').slice(-30).join('\n')}`);
    const r = spawnSync(health[0], health.slice(1), { cwd: app, env, encoding: 'utf8', timeout: 10_000 });
    if (r.status === 0) {
      healthy = true;
      break;
    }
    await new Promise((r2) => setTimeout(r2, 500));
  }
  if (!healthy) fail(`HEALTHCHECK never passed within 90 s:\n${output.split('\n').slice(-30).join('\n')}`);
  const healthyAfter = ((Date.now() - started) / 1000).toFixed(1);

  child.kill('SIGTERM');
  const result = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 35_000))]);
  if (!result) fail('SIGTERM: still running after 35 s');
  if (result.code !== 0) fail(`SIGTERM: exited with ${result.code ?? result.signal}, expected a clean 0:\n${output.split('\n').slice(-20).join('\n')}`);
  child = null;
  for (const s of skipped) log(`skipped: ${s}`);
  console.log(`healthy after ${healthyAfter} s as ${runAs}, clean exit on SIGTERM`);
  exitCode = 0;
} finally {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  if (!keep) fs.rmSync(work, { recursive: true, force: true });
  else console.error(`kept ${work}`);
}
process.exit(exitCode);
