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

# Checks the drop-ins CRI-O would read, with the new file in place of kubeplug's, before anything is
# written. `crio config` checks syntax, types and enums; it does not look at binaries (checked apart).
crio_check_config() {
  local dir=$KP_STAGE/crio.conf.d file
  mkdir -p "$dir"
  for file in /etc/crio/crio.conf.d/*; do
    case "$file" in
      # kubeplug's own drop-in is replaced by the new one; older kubeplug versions left these beside it.
      "$KP_CRIO_DROP_IN" | "$KP_CRIO_DROP_IN".kubeplug.*) continue ;;
    esac
    [ -f "$file" ] && cp "$file" "$dir/"
  done
  cp "$1" "$dir/$(basename "$KP_CRIO_DROP_IN")"
  local args=(--config-dir "$dir")
  [ -f /etc/crio/crio.conf ] && args=(--config /etc/crio/crio.conf "${args[@]}")
  if ! crio "${args[@]}" config >"$KP_STAGE/crio-config.out" 2>"$KP_STAGE/crio-config.err"; then
    echo "rejects the config: $(grep -v 'level=info' "$KP_STAGE/crio-config.err" | tail -n 2 | tr '\n' ' ')"
    return 1
  fi
}
