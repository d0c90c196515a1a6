# shellcheck shell=bash
# Writes kubeplug's CRI-O drop-in, registries drop-in, crictl.yaml and (from stdin) auth.json; checks
# them with the installed crio before any write; restarts for a drop-in change, reloads for registries
# and credentials, and rolls back if CRI-O is not healthy afterwards.
kp_require_commands crio crictl systemctl

# CRI-O reads every file in crio.conf.d, whatever its name, so kubeplug's temp file and backup of the
# drop-in live beside the directory, not in it (kp_aside).
# shellcheck disable=SC2034 # read by kp_aside (prelude.sh)
KP_WHOLE_DIRS=("${KP_CRIO_DROP_IN%/*}")

installed=$(crio_installed_version)
[ "$installed" = "$KP_SERVICE_VERSION" ] ||
  kp_fail "this config is for CRI-O $KP_SERVICE_VERSION but the node runs crio ${installed:-none}; nothing was changed"

# CRI-O checks runtime binaries only when it starts, and then drops a broken handler with a warning.
for entry in "${KP_RUNTIME_BINARIES[@]}" "conmon=$KP_CRIO_CONMON"; do
  [ -x "${entry#*=}" ] || kp_fail "runtime handler ${entry%%=*} needs ${entry#*=}, which is not installed; nothing was changed"
done

problem=$(crio_check_config "$(kp_staged "$KP_CRIO_DROP_IN")") ||
  kp_fail "crio $installed $problem in the new $KP_CRIO_DROP_IN; nothing was changed"

if [ "$KP_HAS_SECRET" = 1 ]; then
  kp_read_secret
  [ -s "$KP_SECRET_FILE" ] || kp_fail "registry credentials were expected on stdin but none arrived; nothing was changed"
fi

# shellcheck disable=SC2034 # kp_fail (prelude.sh) calls the hook
KP_ROLLBACK_HOOK=kp_service_rollback
restart=0
reload=0
# Earlier kubeplug versions kept them in crio.conf.d, where CRI-O applied the previous drop-in after
# the current one: move them out, and restart so CRI-O drops what it read from them.
for legacy in "$KP_CRIO_DROP_IN.kubeplug.bak" "$KP_CRIO_DROP_IN.kubeplug.new"; do
  [ -e "$legacy" ] || continue
  kp_service_intend_restart "$legacy"
  mkdir -p "$(dirname "$(kp_aside "$KP_CRIO_DROP_IN" bak)")"
  if [ "$legacy" = "$KP_CRIO_DROP_IN.kubeplug.bak" ]; then mv -f "$legacy" "$(kp_aside "$KP_CRIO_DROP_IN" bak)"; else rm -f "$legacy"; fi
  KP_CHANGED+=("$legacy")
  kp_say "moved $legacy out of ${KP_CRIO_DROP_IN%/*}, which CRI-O reads whole"
  restart=1
done
if kp_install_file "$(kp_staged "$KP_CRIO_DROP_IN")" "$KP_CRIO_DROP_IN" 0644 kp_service_intend_restart; then restart=1; fi
if kp_install_file "$(kp_staged "$KP_CRIO_REGISTRIES")" "$KP_CRIO_REGISTRIES" 0644 kp_service_intend_reload; then reload=1; fi
kp_install_file "$(kp_staged "$KP_CRICTL_YAML")" "$KP_CRICTL_YAML" 0644 || true
if [ "$KP_HAS_SECRET" = 1 ]; then
  KP_CREDENTIAL_FILES+=("$KP_CRIO_AUTH_FILE")
  if kp_install_file "$KP_SECRET_FILE" "$KP_CRIO_AUTH_FILE" 0600 kp_service_intend_reload; then reload=1; fi
fi
kp_service_limits
kp_prune_owned
kp_service_limits_retired
[ "$KP_SERVICE_UNIT_CHANGED" = 0 ] || restart=1

kp_service_settle "$restart" "$reload" "$KP_CRIO_DROP_IN"
kp_service_limits_effective
