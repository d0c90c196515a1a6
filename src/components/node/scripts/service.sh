# shellcheck shell=bash
# The daemon a step manages (containerd, crio): restart with a pending marker, reload, rollback, enable.
# The step sets KP_SERVICE (the unit), KP_SERVICE_TIMEOUT (seconds to become healthy) and defines
# KP_SERVICE_CHECK (a function: healthy or not) before calling these.

# Pending markers record a restart (or reload) before the first file that needs it is installed, and
# are removed only once the daemon is healthy on the new files: a step killed or a node powered off
# anywhere in between leaves the marker, and the next run restarts even though the files already match.
KP_SERVICE_PENDING="$KP_STATE_DIR/$KP_SERVICE.restart-pending"
KP_SERVICE_RELOAD_PENDING="$KP_STATE_DIR/$KP_SERVICE.reload-pending"
KP_SERVICE_RESTARTING=0
# Set when this run changed the unit or one of its drop-ins: the restart reloads systemd first.
KP_SERVICE_UNIT_CHANGED=0
# Markers an earlier run left: this run must not remove them in a rollback.
KP_SERVICE_PENDING_BEFORE=0
[ ! -f "$KP_SERVICE_PENDING" ] || KP_SERVICE_PENDING_BEFORE=1
KP_SERVICE_RELOAD_PENDING_BEFORE=0
[ ! -f "$KP_SERVICE_RELOAD_PENDING" ] || KP_SERVICE_RELOAD_PENDING_BEFORE=1

kp_service_journal() {
  journalctl -u "$KP_SERVICE" -n 5 --no-pager -o cat 2>/dev/null | tr '\n' ' ' || true
}

# kp_service_mark MARKER WHAT: creates a pending marker and puts it on disk, or fails before the file
# that needs it is installed.
kp_service_mark() {
  local marker=$1 what=$2 err
  [ ! -f "$marker" ] || return 0
  err=$({ : >"$marker" && sync "$marker" "${marker%/*}"; } 2>&1) ||
    kp_fail "cannot record the pending $what of $KP_SERVICE in $marker: $(kp_cause "$err"); the new file was not installed"
}

# INTENT commands for kp_install_file: DEST ($1) needs a restart, or a reload, to take effect.
kp_service_intend_restart() {
  kp_service_mark "$KP_SERVICE_PENDING" restart
}

kp_service_intend_reload() {
  kp_service_mark "$KP_SERVICE_RELOAD_PENDING" reload
}

# For binaries and the unit: a daemon that is not running starts on them anyway.
kp_service_intend_restart_if_running() {
  systemctl is-active --quiet "$KP_SERVICE" || return 0
  kp_service_intend_restart
}

# systemd keeps the unit it loaded; a unit file changed on disk (by this run, or by one that was killed
# before its daemon-reload) is read again.
kp_service_daemon_reload() {
  if [ "${1:-$KP_SERVICE_UNIT_CHANGED}" = 1 ] || [ "$(systemctl show -p NeedDaemonReload --value "$KP_SERVICE" 2>/dev/null)" = yes ]; then
    systemctl daemon-reload >>"$KP_LOG" 2>&1 || kp_fail "systemctl daemon-reload failed; see $KP_LOG"
  fi
}

kp_service_restart() {
  KP_SERVICE_RESTARTING=1
  kp_service_mark "$KP_SERVICE_PENDING" restart
  kp_service_daemon_reload
  kp_fault_point "before restart $KP_SERVICE"
  systemctl reset-failed "$KP_SERVICE" >/dev/null 2>&1 || true
  systemctl restart "$KP_SERVICE" >>"$KP_LOG" 2>&1 || true
  kp_wait_service "$KP_SERVICE" "$KP_SERVICE_TIMEOUT" "$KP_SERVICE_CHECK" || return 1
  # A restart re-reads everything, so a pending reload is done too.
  rm -f "$KP_SERVICE_PENDING" "$KP_SERVICE_RELOAD_PENDING"
  KP_RESTARTED+=("$KP_SERVICE")
  kp_say "restarted $KP_SERVICE: healthy"
}

# For settings the daemon re-reads on SIGHUP: running containers and pods are not touched.
kp_service_reload() {
  kp_fault_point "before reload $KP_SERVICE"
  systemctl reload "$KP_SERVICE" >>"$KP_LOG" 2>&1 || return 1
  kp_wait "$KP_SERVICE_TIMEOUT" "$KP_SERVICE_CHECK" || return 1
  rm -f "$KP_SERVICE_RELOAD_PENDING"
  KP_RESTARTED+=("$KP_SERVICE:reload")
  kp_say "reloaded $KP_SERVICE"
}

# Rollback hook: put the previous files back and, if this run restarted the daemon, bring it up on them
# again. Without a restart the running daemon still has the previous config in memory.
kp_service_rollback() {
  [ "${#KP_CHANGED[@]}" -gt 0 ] || return 0
  kp_restore_changed
  systemctl daemon-reload >/dev/null 2>&1 || true
  if [ "$KP_SERVICE_RESTARTING" = 0 ]; then
    # The daemon never saw the new files, and they are gone again: what this run marked is not pending.
    [ "$KP_SERVICE_PENDING_BEFORE" = 1 ] || rm -f "$KP_SERVICE_PENDING"
    [ "$KP_SERVICE_RELOAD_PENDING_BEFORE" = 1 ] || rm -f "$KP_SERVICE_RELOAD_PENDING"
    return 0
  fi
  if kp_service_restart; then
    kp_say "rolled back: $KP_SERVICE is healthy again with the previous files"
  else
    kp_say "rolled back the files, but $KP_SERVICE is still not healthy: $(kp_service_journal)"
  fi
}

# kp_service_settle RESTART RELOAD WHAT: after the files are written, restart (a file that needs it
# changed, an earlier restart did not finish, or the daemon is down), else reload (likewise), else
# check health.
kp_service_settle() {
  local restart=$1 reload=$2 what=$3
  if [ -f "$KP_SERVICE_PENDING" ] && [ "$restart" = 0 ]; then
    kp_say "a restart from an earlier run did not finish; restarting now"
    restart=1
  fi
  if [ -f "$KP_SERVICE_RELOAD_PENDING" ] && [ "$reload" = 0 ]; then
    kp_say "a reload from an earlier run did not finish; reloading now"
    reload=1
  fi
  systemctl is-active --quiet "$KP_SERVICE" || restart=1
  if [ "$restart" = 1 ]; then
    kp_service_restart || kp_fail "$KP_SERVICE is not healthy with the new $what: $(kp_service_journal)"
  elif [ "$reload" = 1 ]; then
    kp_service_reload || kp_fail "$KP_SERVICE is not healthy after reloading $what: $(kp_service_journal)"
  elif ! kp_wait 10 "$KP_SERVICE_CHECK"; then
    kp_fail "nothing changed, but $KP_SERVICE is not healthy: $(kp_service_journal)"
  fi
}

# kp_service_limits: installs the unit's limits drop-in when the stack sets limits, and marks a restart
# (after a daemon-reload) when it was written, or retired by kp_prune_owned. Call before that and after it.
kp_service_limits() {
  if [ "$KP_UNIT_LIMITS_RENDERED" = 1 ] && kp_install_file "$(kp_staged "$KP_UNIT_LIMITS")" "$KP_UNIT_LIMITS" 0644 kp_service_intend_restart; then
    KP_SERVICE_UNIT_CHANGED=1
  fi
}

kp_service_limits_retired() {
  if [ "$KP_UNIT_LIMITS_RENDERED" = 0 ] && kp_was_changed "$KP_UNIT_LIMITS"; then KP_SERVICE_UNIT_CHANGED=1; fi
  [ "$KP_SERVICE_UNIT_CHANGED" = 0 ] || kp_service_mark "$KP_SERVICE_PENDING" restart
}

# kp_service_limits_effective: systemd starts a unit whose limit is above its own hard limit with the
# lower one, and says nothing (nspawn nodes, container hosts), so the daemon's own limits are compared
# with the drop-in and a difference is reported.
kp_service_limits_effective() {
  [ "$KP_UNIT_LIMITS_RENDERED" = 1 ] || return 0
  local pid key value row want have
  pid=$(systemctl show -p MainPID --value "$KP_SERVICE")
  [ -n "$pid" ] && [ "$pid" != 0 ] && [ -r "/proc/$pid/limits" ] || return 0
  while IFS='=' read -r key value; do
    case $key in
      LimitNOFILE) row='Max open files' ;;
      LimitNPROC) row='Max processes' ;;
      LimitCORE) row='Max core file size' ;;
      LimitMEMLOCK) row='Max locked memory' ;;
      *) continue ;;
    esac
    want=$value
    [ "$want" != infinity ] || want=unlimited
    have=$(kp_process_limit "$pid" "$row")
    if [ "$have" != "$want" ]; then
      kp_warn "$KP_SERVICE runs with $key=$have, not the $value that $KP_UNIT_LIMITS sets: systemd on this node cannot raise it above its own hard limit ($(kp_process_limit 1 "$row" hard))"
    fi
  done <"$KP_UNIT_LIMITS"
}

# kp_process_limit PID ROW [hard]: a process's soft (or hard) limit as /proc/PID/limits shows it.
kp_process_limit() {
  awk -v row="$2" -v col="${3:-soft}" 'index($0, row) == 1 { $0 = substr($0, length(row) + 1); print (col == "hard" ? $2 : $1) }' "/proc/$1/limits"
}

# kp_service_unpack_release DIR: downloads and verifies the release tarball, then unpacks it into DIR;
# any failure happens before a single file is installed.
kp_service_unpack_release() {
  kp_require_commands tar
  kp_download "$KP_RELEASE_URL" "$KP_RELEASE_CHECKSUM"
  mkdir -p "$1"
  tar -xzf "$KP_DOWNLOADED" -C "$1" 2>>"$KP_LOG" || kp_fail "cannot unpack $KP_RELEASE_URL; nothing was installed"
}

# kp_service_update BINARIES_CHANGED: after a release install, put the unit in place and restart a
# running daemon onto the new binaries and unit (it keeps the old ones until then), so the version
# check is true. The binaries were installed with kp_service_intend_restart_if_running, so a restart
# an earlier run could not finish is done here too.
kp_service_update() {
  local unit=/etc/systemd/system/$KP_SERVICE.service restart=$1 unit_changed=0
  if kp_install_file "$(kp_staged "$unit")" "$unit" 0644 kp_service_intend_restart_if_running; then unit_changed=1; fi
  kp_service_daemon_reload "$unit_changed"
  [ ! -f "$KP_SERVICE_PENDING" ] || restart=1
  if [ "$restart" = 1 ] && systemctl is-active --quiet "$KP_SERVICE"; then
    kp_service_restart || kp_fail "$KP_SERVICE $KP_SERVICE_VERSION did not become healthy: $(kp_service_journal)"
  fi
}

# kp_service_receipt_current: a release install with nothing to do: its install receipt is current
# (receipt.sh), no restart an earlier run recorded is pending, and systemd has loaded the unit file on
# disk. kp_service_installed then checks that the unit is enabled.
kp_service_receipt_current() {
  [ ! -f "$KP_SERVICE_PENDING" ] || return 1
  [ "$(systemctl show -p NeedDaemonReload --value "$KP_SERVICE" 2>/dev/null)" != yes ] || return 1
  kp_receipt_current || return 1
  kp_say "$KP_SERVICE $KP_SERVICE_VERSION: installed as its receipt records; the release tarball was not read"
}

# kp_service_installed VERSION: the installed daemon is the one the config is rendered for, and enabled.
kp_service_installed() {
  local installed=$1
  [ -n "$installed" ] || kp_fail "$KP_SERVICE is not installed (install.from is $KP_INSTALL_FROM)"
  [ "$installed" = "$KP_SERVICE_VERSION" ] ||
    kp_fail "$KP_SERVICE $installed is installed, but the stack says $KP_SERVICE_VERSION; the config would be rendered for the wrong version"
  if ! systemctl is-enabled --quiet "$KP_SERVICE" 2>/dev/null; then
    systemctl enable "$KP_SERVICE" >>"$KP_LOG" 2>&1 || kp_fail "cannot enable $KP_SERVICE.service"
    KP_CHANGED+=("unit:$KP_SERVICE enabled")
    kp_say "enabled $KP_SERVICE.service"
  fi
}
