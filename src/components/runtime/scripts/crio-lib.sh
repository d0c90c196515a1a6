# shellcheck shell=bash
# CRI-O helpers shared by the install and configure steps.

# Prints the X.Y.Z of the installed crio, or nothing.
crio_installed_version() {
  command -v crio >/dev/null 2>&1 || return 0
  crio --version 2>/dev/null | sed -nE 's/^crio version v?([0-9]+\.[0-9]+\.[0-9]+).*/\1/p; s/^Version: *v?([0-9]+\.[0-9]+\.[0-9]+).*/\1/p' | head -n 1
}

# Healthy = the unit is active and the CRI socket answers a version call.
crio_healthy() {
  systemctl is-active --quiet crio || return 1
  crictl --runtime-endpoint "unix://$KP_CRIO_SOCKET" --timeout 5s version >/dev/null 2>&1
}

crio_journal_tail() {
  journalctl -u crio -n 5 --no-pager -o cat 2>/dev/null | tr '\n' ' ' || true
}

# Checks the drop-ins CRI-O would read, with the new file in place of kubeplug's, before anything is
# written. `crio config` checks syntax, types and enums; it does not look at binaries (checked apart).
crio_check_config() {
  local dir=$KP_STAGE/crio.conf.d file
  mkdir -p "$dir"
  for file in /etc/crio/crio.conf.d/*; do
    [ -f "$file" ] && [ "$file" != "$KP_CRIO_DROP_IN" ] && cp "$file" "$dir/"
  done
  cp "$1" "$dir/$(basename "$KP_CRIO_DROP_IN")"
  local args=(--config-dir "$dir")
  [ -f /etc/crio/crio.conf ] && args=(--config /etc/crio/crio.conf "${args[@]}")
  if ! crio "${args[@]}" config >"$KP_STAGE/crio-config.out" 2>"$KP_STAGE/crio-config.err"; then
    echo "rejects the config: $(grep -v 'level=info' "$KP_STAGE/crio-config.err" | tail -n 2 | tr '\n' ' ')"
    return 1
  fi
}

KP_CRIO_RESTART_PENDING="$KP_STATE_DIR/crio.restart-pending"
KP_CRIO_RESTARTING=0

# Restarts CRI-O and waits until it is healthy; the marker makes an interrupted restart happen again.
crio_restart() {
  KP_CRIO_RESTARTING=1
  touch "$KP_CRIO_RESTART_PENDING"
  systemctl reset-failed crio >/dev/null 2>&1 || true
  systemctl restart crio >>"$KP_LOG" 2>&1 || true
  kp_wait_service crio "$KP_CRIO_START_TIMEOUT" crio_healthy || return 1
  rm -f "$KP_CRIO_RESTART_PENDING"
  KP_RESTARTED+=(crio)
  kp_say "restarted crio: healthy (socket $KP_CRIO_SOCKET answers)"
}

# Registries and credentials are re-read on SIGHUP: running containers and pods are not touched.
crio_reload() {
  systemctl reload crio >>"$KP_LOG" 2>&1 || return 1
  kp_wait "$KP_CRIO_START_TIMEOUT" crio_healthy || return 1
  KP_RESTARTED+=(crio:reload)
  kp_say "reloaded crio"
}

crio_rollback() {
  [ "${#KP_CHANGED[@]}" -gt 0 ] || return 0
  kp_restore_changed
  systemctl daemon-reload >/dev/null 2>&1 || true
  [ "$KP_CRIO_RESTARTING" = 1 ] || return 0
  if crio_restart; then
    kp_say "rolled back: crio is healthy again with the previous files"
  else
    kp_say "rolled back the files, but crio is still not healthy: $(crio_journal_tail)"
  fi
}
