# shellcheck shell=bash
# Writes config.toml, hosts.toml, shim configs, base runtime specs and the unit's limits drop-in; validates with the installed containerd before any
# write; restarts only when config.toml changed; rolls back if containerd is not healthy afterwards.
kp_require_commands containerd ctr systemctl

installed=$(containerd_installed_version)
[ "$installed" = "$KP_SERVICE_VERSION" ] ||
  kp_fail "this config is for containerd $KP_SERVICE_VERSION (config version $KP_CONFIG_VERSION) but the node runs containerd ${installed:-none}, which would read it differently or ignore it; nothing was changed"

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
KP_ROLLBACK_HOOK=kp_service_rollback
restart=0
[ "$KP_HAS_SECRET" = 0 ] || KP_CREDENTIAL_FILES+=("$KP_CONFIG_PATH")
if kp_install_file "$new_config" "$KP_CONFIG_PATH" "$KP_CONFIG_MODE" kp_service_intend_restart; then restart=1; fi
# Shim configs are read when a container starts and hosts.toml at every pull: no restart for them.
for path in "${KP_RUNTIME_FILES[@]}" "${KP_REGISTRY_FILES[@]}"; do
  kp_install_file "$(kp_staged "$path")" "$path" "$(stat -c %a "$(kp_staged "$path")")" || true
done
kp_service_limits
kp_prune_owned
kp_service_limits_retired
[ "$KP_SERVICE_UNIT_CHANGED" = 0 ] || restart=1

kp_service_settle "$restart" 0 "$KP_CONFIG_PATH"
kp_service_limits_effective
