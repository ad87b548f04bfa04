#!/usr/bin/env bash
# One Tessera backup, then retention: what tessera-backup.service (daily timer) runs.
#
#   tessera-backup.sh [--env-file FILE]
#
# Writes $BACKUP_DIR/tessera-YYYYMMDD-HHMMSS.tar.gz with `tessera backup --out` (the archive is
# first written under a hidden .partial- name and renamed when complete, so a failed run never
# leaves a file that looks like a backup), then runs prune-backups.sh on the directory.
# Settings come from the environment (systemd's EnvironmentFile=); from cron, pass the same file
# with --env-file (KEY=value lines, read literally as systemd does, without a shell):
#   0 2 * * *  tessera  /opt/tessera/deploy/backup/tessera-backup.sh --env-file /etc/tessera/tessera.env
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

load_env_file() {
  local line key value
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line%$'\r'}
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || { echo "tessera-backup: ignoring line in $1: $line" >&2; continue; }
    key=${BASH_REMATCH[2]} value=${BASH_REMATCH[3]}
    if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
    export "$key=$value"
  done < "$1"
}

while (($#)); do
  case $1 in
    --env-file) load_env_file "${2:?--env-file needs a file}"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "tessera-backup: unknown argument $1" >&2; exit 2 ;;
  esac
done

backup_dir=${BACKUP_DIR:-/var/backups/tessera}
tessera=${TESSERA_BIN:-$root/bin/tessera.js}
node=${NODE_BIN:-$(command -v node || echo /usr/bin/node)}

[[ -d $backup_dir && -w $backup_dir ]] || { echo "tessera-backup: $backup_dir is not a writable directory" >&2; exit 1; }

stamp=$(date +%Y%m%d-%H%M%S)
final="$backup_dir/tessera-$stamp.tar.gz"
partial="$backup_dir/.partial-tessera-$stamp.tar.gz"
trap 'rm -f "$partial"' EXIT

"$node" "$tessera" backup --out "$partial"
[[ -s $partial ]] || { echo "tessera-backup: tessera backup wrote nothing to $partial" >&2; exit 1; }
mv "$partial" "$final"
echo "tessera-backup: wrote $final ($(du -h "$final" | cut -f1))"

"$here/prune-backups.sh" "$backup_dir"
