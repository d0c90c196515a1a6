#!/usr/bin/env bash
set -euo pipefail
# kubeplug's drift probe: reports what a node has, for src/drift/compare.ts to hold against the plan.
# Read-only: it writes no file, takes no lock and starts or stops nothing, so it can run beside an
# apply. The header src/drift/probe.ts puts before this sets the arrays it reads:
#   KP_PROBE_STEPS (ownership lists), KP_PROBE_FILES, KP_PROBE_PACKAGES, KP_PROBE_UNITS
#   (UNIT=BINARY entries).
# One tab-separated line per fact, then "end", so a report cut short is told from a complete one:
#   owned STEP SHA256 PATH | receipt STEP SHA256 MODE OWNER PATH | file PATH STATE SHA256 MODE OWNER MTIME
#   package NAME STATUS VERSION
#   unit NAME ACTIVE ENABLED STARTED VERSION-LINE | pending UNIT restart|reload | error MESSAGE
export LC_ALL=C
state_dir=/var/lib/kubeplug

if [ "$(id -u)" != 0 ]; then
  printf 'error\tthe probe must run as root (the login user needs passwordless sudo)\n'
  exit 0
fi

declare -A seen=()
paths=()
for path in "${KP_PROBE_FILES[@]}"; do
  seen[$path]=1
  paths+=("$path")
done

# The hashes each step recorded when it last wrote its files; files only a list names are checked too.
for step in "${KP_PROBE_STEPS[@]}"; do
  list="$state_dir/owned/$step.list"
  [ -f "$list" ] || continue
  while read -r recorded path; do
    [ -n "$path" ] || continue
    printf 'owned\t%s\t%s\t%s\n' "$step" "$recorded" "$path"
    if [ -z "${seen[$path]:-}" ]; then
      seen[$path]=1
      paths+=("$path")
    fi
  done <"$list"
done

# What the install receipts (receipt.sh) say each installed file's mode and owner are; a receipt
# whose seal does not match is no record, as for the step itself.
for step in "${KP_PROBE_STEPS[@]}"; do
  receipt="$state_dir/receipts/$step"
  [ -f "$receipt" ] || continue
  body=$(sed '$d' "$receipt")
  [ "$(tail -n 1 "$receipt")" = "seal $(printf '%s\n' "$body" | sha256sum | cut -d' ' -f1)" ] || continue
  printf '%s\n' "$body" | awk -v step="$step" '$1 == "file" { sha = $2; mode = $3; owner = $4; sub(/^file [^ ]+ [^ ]+ [^ ]+ /, ""); printf "receipt\t%s\t%s\t%s\t%s\t%s\n", step, sha, mode, owner, $0 }'
done

regular=()
for path in "${paths[@]}"; do
  if [ -L "$path" ] || { [ -e "$path" ] && [ ! -f "$path" ]; }; then
    printf 'file\t%s\tother\t-\t-\t-\t-\n' "$path"
  elif [ -f "$path" ]; then
    regular+=("$path")
  else
    printf 'file\t%s\tmissing\t-\t-\t-\t-\n' "$path"
  fi
done
# One stat and one sha256sum for all regular files: on a node with a few dozen files, the forks of a
# pair per file cost more than the hashing. Joined by path, so a file removed meanwhile reads missing.
if [ "${#regular[@]}" -gt 0 ]; then
  {
    stat -c $'stat\t%n\t%a\t%U:%G\t%Y' -- "${regular[@]}" 2>/dev/null || true
    sha256sum -- "${regular[@]}" 2>/dev/null | sed 's/^\([0-9a-f]*\)  /hash\t\1\t/' || true
    printf 'order\t%s\n' "${regular[@]}"
  } | awk -F'\t' '
    $1 == "stat" { meta[$2] = $3 "\t" $4 "\t" $5 }
    $1 == "hash" { hash[$3] = $2 }
    $1 == "order" {
      if (($2 in meta) && ($2 in hash)) printf "file\t%s\tfile\t%s\t%s\n", $2, hash[$2], meta[$2]
      else printf "file\t%s\tmissing\t-\t-\t-\t-\n", $2
    }'
fi

for name in "${KP_PROBE_PACKAGES[@]}"; do
  if row=$(dpkg-query -W -f='${db:Status-Status}\t${Version}' "$name" 2>/dev/null); then
    printf 'package\t%s\t%s\n' "$name" "$row"
  else
    printf 'package\t%s\tnot-installed\t-\n' "$name"
  fi
done

for entry in "${KP_PROBE_UNITS[@]}"; do
  unit=${entry%%=*}
  binary=${entry#*=}
  # One systemctl for the three facts; --timestamp=unix (systemd 248+) spares a date(1) call.
  active='' enabled='' started=''
  while IFS='=' read -r key value; do
    case $key in
      ActiveState) active=$value ;;
      UnitFileState) enabled=$value ;;
      ActiveEnterTimestamp) started=${value#@} ;;
    esac
  done < <(systemctl show --timestamp=unix -p ActiveState -p UnitFileState -p ActiveEnterTimestamp "$unit" 2>/dev/null || true)
  if [ "$active" != active ] || ! [[ $started =~ ^[0-9]+$ ]]; then started=0; fi
  version=-
  if command -v "$binary" >/dev/null 2>&1; then
    version=$("$binary" --version 2>/dev/null || true)
    version=${version%%$'\n'*}
    version=${version//$'\t'/ }
  fi
  printf 'unit\t%s\t%s\t%s\t%s\t%s\n' "$unit" "${active:-unknown}" "${enabled:-unknown}" "$started" "${version:--}"
  # Markers the daemon steps leave until a restart (or reload) they recorded has fully happened (service.sh).
  [ ! -f "$state_dir/$unit.restart-pending" ] || printf 'pending\t%s\trestart\n' "$unit"
  [ ! -f "$state_dir/$unit.reload-pending" ] || printf 'pending\t%s\treload\n' "$unit"
done

printf 'end\n'
