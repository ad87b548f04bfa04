#!/usr/bin/env bash
# Backup retention of seed 000: daily backups for 30 days, weekly for 90 days, monthly for a year.
#
#   prune-backups.sh [--dry-run] [--daily DAYS] [--weekly DAYS] [--monthly DAYS] DIR
#
# Looks only at DIR/tessera-YYYYMMDD*.tar.gz (the date is read from the name, not the file's
# time, so copied or restored files keep their age). A backup is kept when it is
#   - at most --daily days old (30), or
#   - the first backup of its ISO week and at most --weekly days old (90), or
#   - the first backup of its month and at most --monthly days old (365);
# the newest backup is always kept, however old, so a broken backup job never leaves none.
# Leftover .partial-tessera-* files of interrupted runs older than a day are removed too.
# Prints one line per file removed. PRUNE_TODAY=YYYY-MM-DD sets "today" (tests).
set -euo pipefail

daily=30 weekly=90 monthly=365 dry_run=0 dir=
while (($#)); do
  case $1 in
    --dry-run) dry_run=1; shift ;;
    --daily) daily=${2:?}; shift 2 ;;
    --weekly) weekly=${2:?}; shift 2 ;;
    --monthly) monthly=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "prune-backups: unknown option $1" >&2; exit 2 ;;
    *) [[ -z $dir ]] || { echo "prune-backups: one directory only" >&2; exit 2; }; dir=$1; shift ;;
  esac
done
[[ -n $dir ]] || { echo "usage: prune-backups.sh [--dry-run] [--daily DAYS] [--weekly DAYS] [--monthly DAYS] DIR" >&2; exit 2; }
[[ -d $dir ]] || { echo "prune-backups: $dir is not a directory" >&2; exit 1; }
for n in "$daily" "$weekly" "$monthly"; do [[ $n =~ ^[0-9]+$ ]] || { echo "prune-backups: $n is not a number of days" >&2; exit 2; }; done

day_number() { echo $(( $(date -u -d "$1" +%s) / 86400 )); }
today=$(day_number "${PRUNE_TODAY:-$(date +%F)}")

remove() {
  if ((dry_run)); then echo "would remove $1"; else rm -f -- "$1" && echo "removed $1"; fi
}

shopt -s nullglob
files=("$dir"/tessera-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]*.tar.gz)
# the glob sorts by name: the fixed-width stamps make that oldest first
((${#files[@]})) || exit 0
newest=${files[-1]}

declare -A seen_week=() seen_month=()
for f in "${files[@]}"; do
  name=${f##*/}
  ymd=${name:8:8}
  if ! date -u -d "$ymd" +%s >/dev/null 2>&1; then
    echo "prune-backups: skipping $name (no valid date in its name)" >&2
    continue
  fi
  age=$(( today - $(day_number "$ymd") ))
  week=$(date -u -d "$ymd" +%G-W%V)
  month=${ymd:0:6}
  first_of_week=0 first_of_month=0
  [[ -n ${seen_week[$week]:-} ]] || { first_of_week=1; seen_week[$week]=1; }
  [[ -n ${seen_month[$month]:-} ]] || { first_of_month=1; seen_month[$month]=1; }

  if [[ $f == "$newest" ]] || ((age <= daily)) \
    || ((first_of_week && age <= weekly)) || ((first_of_month && age <= monthly)); then
    continue
  fi
  remove "$f"
done

# interrupted runs (tessera-backup.sh removes its partial file itself unless it was killed)
while IFS= read -r -d '' f; do remove "$f"; done \
  < <(find "$dir" -maxdepth 1 -name '.partial-tessera-*' -mtime +0 -print0)
