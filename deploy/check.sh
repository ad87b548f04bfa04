#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2016 # checks are called through check(); node programs are in single quotes
# Validates the deployment kit on a Debian machine without a Docker engine:
#
#   bash deploy/check.sh            every check
#   bash deploy/check.sh --quick    all but the image rehearsal (which installs and builds, ~2 min)
#
# Prints one "ok ..." line per check and nothing else on success; on a failure, the failing
# check's output, and exits 1 after running the rest. Missing tools are installed from Debian
# (apt-get update once, first): nginx, prometheus (promtool), docker-compose (only when the
# docker CLI has no compose plugin), shellcheck, tini (image rehearsal), systemd (for
# systemd-analyze). Idempotent: everything it makes lives in temporary directories.
#
# What each check covers, and what it stands in for, is said next to it below.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)

quick=0
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "check.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/tessera-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=0

# --- tools -------------------------------------------------------------------------------------
apt_updated=0
apt_install() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "check.sh: missing $*; run as root, or: sudo apt-get install -y --no-install-recommends $*" >&2
    return 1
  fi
  if ((!apt_updated)); then
    apt-get update -qq >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; return 1; }
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >>"$work/apt.log" 2>&1 \
    || { tail -20 "$work/apt.log" >&2; return 1; }
}
# need COMMAND PACKAGE: the command, installed from the Debian package when missing
need() { command -v "$1" >/dev/null 2>&1 || apt_install "$2"; }

compose=()
tools() {
  need node nodejs
  need openssl openssl
  need nginx nginx
  need promtool prometheus
  need shellcheck shellcheck
  need systemd-analyze systemd
  if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
  else
    # The docker CLI here has no compose plugin, and Debian has none to give it: Debian's
    # docker-compose (1.29, which reads the same Compose specification and needs no engine for
    # `config`) validates the file instead.
    need docker-compose docker-compose
    compose=(docker-compose)
  fi
  ((quick)) || need tini tini
}

# --- running checks ----------------------------------------------------------------------------
# check NAME COMMAND...: "ok NAME" (plus the command's one-line summary, if it printed one),
# or "FAIL NAME" and everything it printed.
check() {
  local name=$1 out rc
  shift
  out="$work/out.$RANDOM"
  # In a subshell with errexit on: any failing step fails the check. (Run as an `if` condition,
  # bash would ignore set -e inside the function.)
  set +e
  (set -e; "$@") >"$out" 2>&1
  rc=$?
  set -e
  if ((rc == 0)); then
    local summary
    summary=$(tail -n 1 "$out")
    if [[ -n $summary && $(wc -l <"$out") -le 1 ]]; then echo "ok $name ($summary)"; else echo "ok $name"; fi
  else
    echo "FAIL $name"
    if (($(wc -l <"$out") > 80)); then echo "    (last 80 lines)"; fi
    tail -n 80 "$out" | sed 's/^/    /'
    failed=1
  fi
}

# nginx -t on a copy of deploy/nginx: upstream names resolvable here, a throwaway certificate.
# The real files are untouched and stay what docker-compose.yml mounts (see the script's header).
nginx_syntax() { node deploy/check/nginx.mjs syntax; }

# The copy run for real against stub instances on loopback: redirect, forwarded headers,
# request id, security headers, body limits, streaming uploads, WebSocket upgrade, rate limits,
# /metrics deny, problem+json error pages.
nginx_behaviour() { node deploy/check/nginx.mjs behaviour; }

promtool_rules() {
  promtool check rules deploy/prometheus/alerts.yml >"$work/rules.out" 2>&1 || { cat "$work/rules.out"; return 1; }
  grep -o '[0-9]* rules found' "$work/rules.out"
}
# every alert fires in one case and stays quiet in another (see the test file)
promtool_tests() {
  promtool test rules deploy/prometheus/alerts.test.yml >"$work/tests.out" 2>&1 || { cat "$work/tests.out"; return 1; }
  local alerts untested=()
  alerts=$(sed -n 's/^ *- alert: //p' deploy/prometheus/alerts.yml)
  for a in $alerts; do
    grep -q "alertname: $a\$" deploy/prometheus/alerts.test.yml || untested+=("$a")
  done
  ((${#untested[@]} == 0)) || { echo "alerts without a test: ${untested[*]}"; return 1; }
  echo "$(grep -c '^  - name:' deploy/prometheus/alerts.test.yml) cases, $(wc -w <<<"$alerts") alerts"
}
promtool_config() {
  promtool check config deploy/prometheus/prometheus.yml >"$work/config.out" 2>&1 || { cat "$work/config.out"; return 1; }
}

compose_env() {
  cat <<'EOF'
TESSERA_DOMAIN=tessera.example.org
JWT_SECRET_KEY=check-0123456789abcdef0123456789abcdef
POSTGRES_PASSWORD=check
REDIS_PASSWORD=check
MINIO_ROOT_USER=check
MINIO_ROOT_PASSWORD=check-password
EOF
}

# `docker compose config`: parses and validates the file against the Compose specification
# (no engine needed), with throwaway values for the required secrets; then the same without
# JWT_SECRET_KEY must be refused; then the cross-checks of deploy/check/compose.mjs.
compose_config() {
  compose_env >"$work/compose.env"
  "${compose[@]}" --env-file "$work/compose.env" -f docker-compose.yml --profile tools --profile monitoring config -q
  grep -v '^JWT_SECRET_KEY=' "$work/compose.env" >"$work/compose-nosecret.env"
  if "${compose[@]}" --env-file "$work/compose-nosecret.env" -f docker-compose.yml config -q >"$work/nosecret.out" 2>&1; then
    echo "docker-compose.yml accepts a missing JWT_SECRET_KEY"
    return 1
  fi
  grep -q JWT_SECRET_KEY "$work/nosecret.out" || { cat "$work/nosecret.out"; return 1; }
  if [[ ${compose[0]} == docker ]]; then
    "${compose[@]}" --env-file "$work/compose.env" -f docker-compose.yml --profile tools --profile monitoring config --format json
  else
    "${compose[@]}" --env-file "$work/compose.env" -f docker-compose.yml --profile tools --profile monitoring config \
      | python3 -c 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'
  fi >"$work/compose.json"
  echo "$(node deploy/check/compose.mjs <"$work/compose.json"), with ${compose[*]}"
}

# systemd-analyze verify on copies whose /opt/tessera (the install directory) is this checkout,
# since nothing is installed there on this machine; then the hardening score of each service.
systemd_units() {
  if ! systemd-analyze --version >/dev/null 2>&1; then
    echo "skipped: systemd-analyze cannot run here: $(systemd-analyze --version 2>&1 | head -1)"
    return 0
  fi
  local dir="$work/systemd" embedded="$work/systemd-embedded" out
  mkdir -p "$dir" "$embedded/tessera-backup.service.d"
  for f in deploy/systemd/*.service deploy/systemd/*.timer; do
    sed "s#/opt/tessera#$repo#g" "$f" >"$dir/$(basename "$f")"
  done
  # the same units with shape A's drop-in (stop the service around the backup)
  cp "$dir"/* "$embedded/"
  cp deploy/systemd/tessera-backup.service.d/*.conf "$embedded/tessera-backup.service.d/"
  for d in "$dir" "$embedded"; do
    out=$(cd "$d" && systemd-analyze verify ./*.service ./*.timer 2>&1) || { echo "$out"; return 1; }
    # verify exits 0 on unknown keys and other warnings: any output is a failure here
    [[ -z $out ]] || { echo "$out"; return 1; }
  done
  for unit in tessera.service tessera-backup.service; do
    (cd "$dir" && systemd-analyze security --offline=yes --threshold=25 "$unit" >"$work/security.out" 2>&1) \
      || { echo "$unit: exposure above 2.5:"; tail -3 "$work/security.out"; return 1; }
  done
  systemd-analyze calendar "$(sed -n 's/^OnCalendar=//p' deploy/systemd/tessera-backup.timer)" >"$work/calendar.out"
  grep -q 'Normalized form: \*-\*-\* 02:00:00$' "$work/calendar.out" || { echo "the timer is not daily at 02:00"; cat "$work/calendar.out"; return 1; }
  grep -q '^Persistent=true$' deploy/systemd/tessera-backup.timer || { echo "the timer is not Persistent"; return 1; }
  echo "verify with and without the embedded drop-in, security <= 2.5, daily 02:00"
}

shell_scripts() {
  shellcheck deploy/check.sh deploy/backup/*.sh
  for f in deploy/backup/*.sh; do [[ -x $f ]] || { echo "$f is not executable"; return 1; }; done
}

# prune-backups.sh on 400 days of synthetic daily backups, against an independent statement of
# seed 000's retention (node), plus the edge cases: the newest kept whatever its age, other files
# untouched, interrupted partial files removed, a second run removes nothing.
prune_retention() {
  local dir="$work/backups" today=2025-06-30
  mkdir -p "$dir"
  node -e '
    const [dir, today] = process.argv.slice(1);
    const fs = require("fs");
    const day = 86400000, t = Date.parse(today + "T00:00:00Z");
    for (let i = 0; i <= 400; i++) {
      const d = new Date(t - i * day).toISOString().slice(0, 10).replace(/-/g, "");
      fs.writeFileSync(`${dir}/tessera-${d}-020000.tar.gz`, "x");
    }' "$dir" "$today"
  touch "$dir/notes.txt" "$dir/tessera-latest.tar.gz"
  touch -d '3 days ago' "$dir/.partial-tessera-20250627-020000.tar.gz"
  PRUNE_TODAY=$today deploy/backup/prune-backups.sh "$dir" >/dev/null
  node -e '
    const [dir, today] = process.argv.slice(1);
    const fs = require("fs");
    const day = 86400000, t = Date.parse(today + "T00:00:00Z");
    const isoWeek = (ms) => { const d = new Date(ms); const wd = (d.getUTCDay() + 6) % 7; const thu = new Date(ms - wd * day + 3 * day); const y = thu.getUTCFullYear(); return y + "-" + Math.ceil(((thu - Date.UTC(y, 0, 1)) / day + 1) / 7); };
    const expected = new Set(), weeks = new Set(), months = new Set();
    for (let i = 400; i >= 0; i--) {
      const ms = t - i * day, iso = new Date(ms).toISOString(), name = `tessera-${iso.slice(0, 10).replace(/-/g, "")}-020000.tar.gz`;
      const firstOfWeek = !weeks.has(isoWeek(ms)), firstOfMonth = !months.has(iso.slice(0, 7));
      weeks.add(isoWeek(ms)); months.add(iso.slice(0, 7));
      if (i <= 30 || (firstOfWeek && i <= 90) || (firstOfMonth && i <= 365)) expected.add(name);
    }
    expected.add("notes.txt"); expected.add("tessera-latest.tar.gz");
    const got = new Set(fs.readdirSync(dir));
    const missing = [...expected].filter((f) => !got.has(f)), extra = [...got].filter((f) => !expected.has(f));
    if (missing.length || extra.length) { console.log("removed but should be kept:", missing, "kept but should be removed:", extra); process.exit(1); }
    console.log(`${got.size - 2} of 401 daily backups kept`);' "$dir" "$today" >"$work/prune.out" || { cat "$work/prune.out"; return 1; }
  [[ -z $(PRUNE_TODAY=$today deploy/backup/prune-backups.sh "$dir") ]] || { echo "a second run removed more"; return 1; }
  # only old backups left: the newest survives
  local old="$work/old-backups"
  mkdir -p "$old"
  touch "$old/tessera-20200101-020000.tar.gz" "$old/tessera-20200105-020000.tar.gz"
  PRUNE_TODAY=$today deploy/backup/prune-backups.sh "$old" >/dev/null
  [[ $(ls "$old") == tessera-20200105-020000.tar.gz ]] || { echo "the newest backup was not kept: $(ls "$old")"; return 1; }
  cat "$work/prune.out"
}

# the dashboard's JSON, queries and panels (deploy/check/dashboard.mjs); the provisioning files
# parsed as YAML with python3's yaml (there whenever Debian's docker-compose is)
grafana_dashboard() {
  local summary
  summary=$(node deploy/check/dashboard.mjs)
  if python3 -c 'import yaml' 2>/dev/null; then
    for f in deploy/grafana/provisioning/*/*.yml; do
      python3 -c 'import sys, yaml; yaml.safe_load(open(sys.argv[1]))' "$f" || { echo "$f does not parse"; return 1; }
    done
  else
    summary+="; provisioning YAML not parsed (no python3-yaml)"
  fi
  echo "$summary"
}

# The Dockerfile's steps on this machine (no engine): see deploy/check/image-rehearsal.mjs.
image_rehearsal() { node deploy/check/image-rehearsal.mjs; }

# --- run ---------------------------------------------------------------------------------------
if ! tools 2>"$work/tools.err"; then
  echo "FAIL tools"
  sed 's/^/    /' "$work/tools.err"
  exit 1
fi

check "nginx -t" nginx_syntax
check "nginx behaviour" nginx_behaviour
check "promtool check rules" promtool_rules
check "promtool test rules" promtool_tests
check "promtool check config" promtool_config
check "compose config" compose_config
check "systemd units" systemd_units
check "shellcheck" shell_scripts
check "backup retention" prune_retention
check "grafana dashboard" grafana_dashboard
if ((quick)); then
  echo "skipped image rehearsal (--quick)"
else
  check "image rehearsal" image_rehearsal
fi

exit "$failed"
