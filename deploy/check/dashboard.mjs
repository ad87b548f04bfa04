#!/usr/bin/env node
// Checks deploy/grafana/tessera-dashboard.json (used by deploy/check.sh):
//   - it parses, panel ids are unique, every panel and query uses the ${datasource} variable;
//   - every query is valid PromQL: the queries, with Grafana's variables given sample values,
//     are written as recording rules to a temporary file that `promtool check rules` parses;
//   - every metric it reads is one Tessera exports (or Prometheus' own `up`);
//   - it has the panels the deployment guide promises.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const file = path.join(repo, 'deploy/grafana/tessera-dashboard.json');
const problems = [];

let dashboard;
try {
  dashboard = JSON.parse(fs.readFileSync(file, 'utf8'));
} catch (err) {
  console.error(`dashboard check: ${file} does not parse: ${err.message}`);
  process.exit(1);
}

const EXPORTED = new Set([
  'http_requests_total',
  'http_request_duration_seconds_bucket',
  'tessera_rate_limit_hits_total',
  'tessera_db_pool_connections',
  'tessera_dependency_up',
  'tessera_login_attempts_total',
  'tessera_lockouts_total',
  'tessera_avatar_uploads_total',
  'tessera_file_uploads_total',
  'tessera_storage_bytes',
  'tessera_ws_connections',
  // prom-client's default metrics, prefixed tessera_ by src/metrics.ts
  'tessera_process_resident_memory_bytes',
  'tessera_nodejs_eventloop_lag_p99_seconds',
  'up',
]);
const REQUIRED_PANELS = [
  /request rate/i,
  /error rate/i,
  /latency p50 \/ p95 \/ p99/i,
  /sign-in attempts/i,
  /lockouts/i,
  /rate-limit/i,
  /database pool/i,
  /dependencies/i,
  /stored bytes/i,
];

const panels = [];
const collect = (list) => {
  for (const p of list ?? []) {
    panels.push(p);
    collect(p.panels);
  }
};
collect(dashboard.panels);

const ids = new Set();
const exprs = [];
for (const p of panels) {
  if (ids.has(p.id)) problems.push(`panel id ${p.id} is used twice`);
  ids.add(p.id);
  if (p.type === 'row') continue;
  if (p.datasource?.uid !== '${datasource}') problems.push(`panel "${p.title}" does not use the \${datasource} variable`);
  if (!p.targets?.length) problems.push(`panel "${p.title}" has no query`);
  for (const t of p.targets ?? []) {
    if (t.datasource?.uid !== '${datasource}') problems.push(`a query of "${p.title}" does not use the \${datasource} variable`);
    if (!t.expr) problems.push(`a query of "${p.title}" is empty`);
    else exprs.push({ panel: p.title, expr: t.expr });
  }
  if (!p.gridPos || p.gridPos.x + p.gridPos.w > 24) problems.push(`panel "${p.title}" has no valid gridPos`);
}
for (const re of REQUIRED_PANELS) if (!panels.some((p) => re.test(p.title))) problems.push(`no panel titled like ${re}`);
if (!dashboard.templating?.list?.some((v) => v.name === 'datasource' && v.type === 'datasource')) problems.push('no datasource variable');

// metric names: identifiers that are followed by a selector, a range or stand alone in a function call
for (const { panel, expr } of exprs) {
  const names = new Set();
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  for (const m of withoutStrings.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?=\{|\[)/g)) names.add(m[1]);
  for (const n of names) if (!EXPORTED.has(n)) problems.push(`"${panel}" reads ${n}, which Tessera does not export`);
}

// PromQL syntax through promtool
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-dashboard-'));
const substitute = (e) => e.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '1h').replaceAll('$__interval', '1m').replace(/\$(job|instance)\b/g, '.*');
const rules = {
  groups: [{ name: 'dashboard', rules: exprs.map((e, i) => ({ record: `dashboard:query_${i}`, expr: substitute(e.expr) })) }],
};
fs.writeFileSync(path.join(tmp, 'rules.yml'), JSON.stringify(rules)); // JSON is YAML
const r = spawnSync('promtool', ['check', 'rules', path.join(tmp, 'rules.yml')], { encoding: 'utf8' });
fs.rmSync(tmp, { recursive: true, force: true });
if (r.error) problems.push(`promtool: ${r.error.message}`);
else if (r.status !== 0) problems.push(`promtool rejects a query:\n${r.stdout}${r.stderr}`);

if (problems.length) {
  console.error(`dashboard check:\n  - ${problems.join('\n  - ')}`);
  process.exit(1);
}
console.log(`${panels.filter((p) => p.type !== 'row').length} panels, ${exprs.length} queries`);
