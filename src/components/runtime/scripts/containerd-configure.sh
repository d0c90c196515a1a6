# shellcheck shell=bash
# Writes config.toml, hosts.toml and shim configs; validates with the installed containerd before any
# write; restarts only when config.toml changed; rolls back if containerd is not healthy afterwards.
kp_require_commands containerd ctr systemctl

installed=$(containerd_installed_version)
[ "$installed" = "$KP_CONTAINERD_VERSION" ] ||
  kp_fail "this config is for containerd $KP_CONTAINERD_VERSION (config version $KP_CONFIG_VERSION) but the node runs containerd ${installed:-none}, which would read it differently or ignore it; nothing was changed"

for entry in "${KP_RUNTIME_BINARIES[@]}"; do
  [ -x "${entry#*=}" ] || kp_fail "runtime handler ${entry%%=*} needs ${entry#*=}, which is not installed; nothing was changed"
done

new_config="$KP_STAGE/config.toml"
cp "$(kp_staged "$KP_CONFIG_PATH")" "$new_config"
if [ "$KP_HAS_SECRET" = 1 ]; then
  kp_read_secret
  cat "$KP_SECRET_FILE" >>"$new_config"
fi
chmod "$KP_CONFIG_MODE" "$new_config"

problem=$(containerd_check_config "$new_config" "$KP_CONFIG_VERSION") ||
  kp_fail "containerd $installed $problem in the new $KP_CONFIG_PATH; nothing was changed"

# shellcheck disable=SC2034 # kp_fail (prelude.sh) calls the hook
KP_ROLLBACK_HOOK=containerd_rollback
restart=0
if kp_install_file "$new_config" "$KP_CONFIG_PATH" "$KP_CONFIG_MODE"; then restart=1; fi
# Shim configs are read when a container starts and hosts.toml at every pull: no restart for them.
for path in "${KP_RUNTIME_FILES[@]}" "${KP_REGISTRY_FILES[@]}"; do
  kp_install_file "$(kp_staged "$path")" "$path" "$(stat -c %a "$(kp_staged "$path")")" || true
done
kp_prune_owned

if [ -f "$KP_CONTAINERD_RESTART_PENDING" ]; then
  kp_say "a restart from an earlier run did not finish; restarting now"
  restart=1
fi
if ! systemctl is-active --quiet containerd; then restart=1; fi

if [ "$restart" = 1 ]; then
  containerd_restart || kp_fail "containerd is not healthy with the new $KP_CONFIG_PATH: $(containerd_journal_tail)"
elif ! kp_wait 10 containerd_healthy; then
  kp_fail "nothing changed, but containerd is not healthy (unit, socket $KP_CONTAINERD_ADDRESS or CRI plugin): $(containerd_journal_tail)"
fi
