# shellcheck shell=bash
# The daemon a step manages (containerd, crio): restart with a pending marker, reload, rollback, enable.
# The step sets KP_SERVICE (the unit), KP_SERVICE_TIMEOUT (seconds to become healthy) and defines
# KP_SERVICE_CHECK (a function: healthy or not) before calling these.

# The pending marker survives a dropped session or a reboot mid-restart, so the next run restarts
# again instead of trusting files that were already written.
KP_SERVICE_PENDING="$KP_STATE_DIR/$KP_SERVICE.restart-pending"
KP_SERVICE_RESTARTING=0

kp_service_journal() {
  journalctl -u "$KP_SERVICE" -n 5 --no-pager -o cat 2>/dev/null | tr '\n' ' ' || true
}

kp_service_restart() {
  KP_SERVICE_RESTARTING=1
  touch "$KP_SERVICE_PENDING"
  kp_fault_point "before restart $KP_SERVICE"
  systemctl reset-failed "$KP_SERVICE" >/dev/null 2>&1 || true
  systemctl restart "$KP_SERVICE" >>"$KP_LOG" 2>&1 || true
  kp_wait_service "$KP_SERVICE" "$KP_SERVICE_TIMEOUT" "$KP_SERVICE_CHECK" || return 1
  rm -f "$KP_SERVICE_PENDING"
  KP_RESTARTED+=("$KP_SERVICE")
  kp_say "restarted $KP_SERVICE: healthy"
}

# For settings the daemon re-reads on SIGHUP: running containers and pods are not touched.
kp_service_reload() {
  kp_fault_point "before reload $KP_SERVICE"
  systemctl reload "$KP_SERVICE" >>"$KP_LOG" 2>&1 || return 1
  kp_wait "$KP_SERVICE_TIMEOUT" "$KP_SERVICE_CHECK" || return 1
  KP_RESTARTED+=("$KP_SERVICE:reload")
  kp_say "reloaded $KP_SERVICE"
}

# Rollback hook: put the previous files back and, if this run restarted the daemon, bring it up on them
# again. Without a restart the running daemon still has the previous config in memory.
kp_service_rollback() {
  [ "${#KP_CHANGED[@]}" -gt 0 ] || return 0
  kp_restore_changed
  systemctl daemon-reload >/dev/null 2>&1 || true
  [ "$KP_SERVICE_RESTARTING" = 1 ] || return 0
  if kp_service_restart; then
    kp_say "rolled back: $KP_SERVICE is healthy again with the previous files"
  else
    kp_say "rolled back the files, but $KP_SERVICE is still not healthy: $(kp_service_journal)"
  fi
}

# kp_service_settle RESTART RELOAD WHAT: after the files are written, restart (a file that needs it
# changed, an earlier restart did not finish, or the daemon is down), else reload, else check health.
kp_service_settle() {
  local restart=$1 reload=$2 what=$3
  if [ -f "$KP_SERVICE_PENDING" ]; then
    kp_say "a restart from an earlier run did not finish; restarting now"
    restart=1
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

# kp_service_unpack_release DIR: downloads and verifies the release tarball, then unpacks it into DIR;
# any failure happens before a single file is installed.
kp_service_unpack_release() {
  kp_require_commands tar
  kp_download "$KP_RELEASE_URL" "$KP_RELEASE_CHECKSUM"
  mkdir -p "$1"
  tar -xzf "$KP_DOWNLOADED" -C "$1" 2>>"$KP_LOG" || kp_fail "cannot unpack $KP_RELEASE_URL; nothing was installed"
}

# kp_service_update BINARIES_CHANGED: after a release install, put the unit in place and restart a
# running daemon onto the new binaries (it keeps the old ones until then), so the version check is true.
kp_service_update() {
  local unit=/etc/systemd/system/$KP_SERVICE.service
  if kp_install_file "$(kp_staged "$unit")" "$unit" 0644; then systemctl daemon-reload; fi
  if [ "$1" = 1 ] && systemctl is-active --quiet "$KP_SERVICE"; then
    kp_service_restart || kp_fail "$KP_SERVICE $KP_SERVICE_VERSION did not become healthy: $(kp_service_journal)"
  fi
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
