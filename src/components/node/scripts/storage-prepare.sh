# shellcheck shell=bash
# What the CSI drivers' node plugins need on the host itself (issue 12): kernel modules and
# filesystems, Debian packages and the mount helpers they ship, systemd services, and the node's
# iSCSI initiator name. KP_NEEDED_BY entries are KIND:NAME=DRIVER[,DRIVER...], so every message names
# the driver that needs what. The kernel is checked first, so its errors leave the node untouched.
#
# Errors and reported skips:
#   - a module or filesystem the kernel lacks on a node that cannot load modules (no /proc/modules,
#     or no /lib/modules/<release>: a container that shares its host's kernel): reported as not done
#     ("skipped"), naming the driver whose volumes cannot be mounted here. Nothing on the node can fix
#     that (the kernel's owner can), and the other drivers may still work;
#   - a module modprobe refuses, a filesystem still missing once its module loaded: error;
#   - a package apt has no candidate for: error before anything is installed (prelude kp_apt_install);
#   - a mount helper missing after its package is installed: error;
#   - a service that is missing or masked: error; one that fails to start: error. It is enabled but
#     not started, and reported as not done, when every driver needing it lacks kernel support here,
#     or when its unit skips this node (multipathd's ConditionVirtualization=!container);
#   - the initiator name: written only when the file is absent or has no InitiatorName, then kept on
#     every later run, whoever wrote it (open-iscsi's postinst writes one on a fresh install), since
#     iSCSI targets grant access by it.
# On failure the initiator file this run wrote is put back, the services it started are stopped and
# those it enabled disabled; packages stay installed and modules loaded, and are named.

# The prefix open-iscsi's postinst gives iscsi-iname on Debian, so every name on a node looks alike.
STORAGE_IQN_PREFIX=iqn.1993-08.org.debian:01
# driver -> what this node's kernel lacks for it
declare -A STORAGE_LACKS=()
# service:UNIT=enabled|started, in the order they happened, for the rollback
STORAGE_SERVICE_CHANGES=()

storage_rollback() {
  local i change unit keep=()
  for ((i = ${#STORAGE_SERVICE_CHANGES[@]} - 1; i >= 0; i--)); do
    change=${STORAGE_SERVICE_CHANGES[$i]#service:}
    unit=${change%%=*}
    case "${change#*=}" in
      started) if systemctl stop "$unit" >/dev/null 2>&1; then kp_say "rolled back: stopped $unit"; else kp_say "could not stop $unit"; fi ;;
      enabled) if systemctl disable "$unit" >/dev/null 2>&1; then kp_say "rolled back: disabled $unit"; else kp_say "could not disable $unit"; fi ;;
    esac
  done
  for change in "${KP_CHANGED[@]}"; do [[ $change == service:* ]] || keep+=("$change"); done
  KP_CHANGED=("${keep[@]}")
  kp_rollback_files
}
# shellcheck disable=SC2034 # kp_fail (prelude.sh) calls the hook
KP_ROLLBACK_HOOK=storage_rollback

# storage_drivers KIND:NAME: the drivers that need it, comma-separated.
storage_drivers() {
  local entry
  for entry in "${KP_NEEDED_BY[@]}"; do
    if [ "${entry%%=*}" = "$1" ]; then
      printf '%s' "${entry#*=}"
      return 0
    fi
  done
}

storage_for() {
  local drivers
  drivers=$(storage_drivers "$1")
  printf '%s' "${drivers//,/, }"
}

# storage_lacks KIND:NAME WHAT: the kernel lacks WHAT, so the drivers needing KIND:NAME cannot mount here.
storage_lacks() {
  local driver drivers
  IFS=, read -ra drivers <<<"$(storage_drivers "$1")"
  for driver in "${drivers[@]}"; do STORAGE_LACKS[$driver]+="${STORAGE_LACKS[$driver]:+, }$2"; done
}

# storage_all_lacking KIND:NAME: every driver that needs it already lacks kernel support here; prints what.
storage_all_lacking() {
  local driver drivers what=
  IFS=, read -ra drivers <<<"$(storage_drivers "$1")"
  for driver in "${drivers[@]}"; do
    [ -n "${STORAGE_LACKS[$driver]:-}" ] || return 1
    what+="${what:+, }${STORAGE_LACKS[$driver]}"
  done
  printf '%s' "$what"
}

# Kernel -----------------------------------------------------------------------------------------
for module in "${KP_MODULES[@]}"; do
  users=$(storage_for "module:$module")
  kp_load_module "$module" "for $users" && continue
  storage_lacks "module:$module" "$module"
  kp_skip "kernel module $module (for $users) not available: kernel $(uname -r) does not have it, and $KP_MODULE_UNLOADABLE; volumes of $users cannot be mounted on this node"
done

for fs in "${KP_FILESYSTEMS[@]}"; do
  kp_has_filesystem "$fs" && continue
  users=$(storage_for "filesystem:$fs")
  reason=$(kp_no_module_loading)
  if [ -n "$reason" ]; then
    storage_lacks "filesystem:$fs" "$fs"
    kp_skip "filesystem $fs (for $users) not available: kernel $(uname -r) does not list it in /proc/filesystems, and $reason; volumes of $users cannot be mounted on this node"
    continue
  fi
  # Every filesystem module declares the alias fs-<name>: the one the kernel itself asks for at mount.
  kp_load_module "fs-$fs" "for $users" || true
  kp_has_filesystem "$fs" || kp_fail "filesystem $fs (for $users) is not in /proc/filesystems of kernel $(uname -r), even with module fs-$fs loaded; nothing was changed"
done

# Packages and their mount helpers ---------------------------------------------------------------
if [ "${#KP_PACKAGES[@]}" -gt 0 ]; then
  kp_apt_install "${KP_PACKAGES[@]}" || kp_say "packages present: ${KP_PACKAGES[*]}"
fi
for entry in "${KP_MOUNT_HELPERS[@]}"; do
  package=${entry%%=*}
  helper=${entry#*=}
  [ -x "$helper" ] || kp_fail "package $package (for $(storage_for "package:$package")) is installed, but its mount helper $helper is missing, so mount(8) cannot mount its volumes: reinstall it (apt-get install --reinstall $package)"
done

# iSCSI initiator name: before the services, as iscsid refuses to start without one ----------------
if [ -n "$KP_ISCSI_INITIATOR" ]; then
  users=${KP_ISCSI_INITIATOR//,/, }
  name=$(sed -nE 's/^[[:space:]]*InitiatorName=([^[:space:]]+).*$/\1/p' "$KP_INITIATOR_FILE" 2>/dev/null | head -n 1 || true)
  if [ -n "$name" ]; then
    kp_say "iSCSI initiator name $name kept ($KP_INITIATOR_FILE, for $users)"
  else
    [ ! -e "$KP_INITIATOR_FILE" ] || kp_say "$KP_INITIATOR_FILE has no InitiatorName; writing one"
    if command -v iscsi-iname >/dev/null 2>&1; then
      name=$(iscsi-iname -p "$STORAGE_IQN_PREFIX")
    else
      name="$STORAGE_IQN_PREFIX:$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
    fi
    [[ $name =~ ^"$STORAGE_IQN_PREFIX":[0-9a-f]+$ ]] || kp_fail "iscsi-iname printed \"$name\", not an iSCSI name under $STORAGE_IQN_PREFIX; $(kp_unchanged_note "$KP_INITIATOR_FILE")"
    staged="$KP_STAGE/initiatorname.iscsi"
    # open-iscsi's own warning, as its postinst writes it.
    {
      printf '## DO NOT EDIT OR REMOVE THIS FILE!\n'
      printf '## If you remove this file, the iSCSI daemon will not start.\n'
      printf '## If you change the InitiatorName, existing access control lists\n'
      printf '## may reject this initiator.  The InitiatorName must be unique\n'
      printf '## for each iSCSI initiator.  Do NOT duplicate iSCSI InitiatorNames.\n'
      printf 'InitiatorName=%s\n' "$name"
    } >"$staged"
    kp_replace_file "$staged" "$KP_INITIATOR_FILE" 0600 || true
    kp_say "set iSCSI initiator name $name (for $users); kept from now on"
  fi
fi

# Services -----------------------------------------------------------------------------------------
# storage_start_failure UNIT OUTPUT: the unit's last journal line, or systemctl's own output.
storage_start_failure() {
  local line
  line=$(journalctl -u "$1" -n 20 -o cat --no-pager 2>/dev/null | sed '/^[[:space:]]*$/d' | grep -v -e '^Starting ' -e '^Failed to start' -e 'process exited, code=' -e 'Failed with result' | tail -n 1 || true)
  printf '%s' "${line:-$(kp_cause "$2")}"
}

# storage_unmet_condition UNIT: the condition systemd reports as not met, e.g. ConditionVirtualization=!container.
storage_unmet_condition() {
  local condition
  condition=$(systemctl status "$1" 2>/dev/null | grep -oE '(Condition|Assert)[A-Za-z]+=[^ ]+ was not met' | head -n 1 || true)
  printf '%s' "${condition% was not met}"
}

for unit in "${KP_SERVICES[@]}"; do
  users=$(storage_for "service:$unit")
  load=$(systemctl show -p LoadState --value "$unit" 2>/dev/null || true)
  [ "$load" = loaded ] || kp_fail "service $unit (for $users) is not on this node (systemd LoadState: ${load:-unknown}); its package should have installed it"
  enabled=$(systemctl is-enabled "$unit" 2>/dev/null || true)
  case "$enabled" in
    masked | masked-runtime)
      kp_fail "service $unit (for $users) is masked on this node; kubeplug leaves an administrator's mask alone: systemctl unmask $unit"
      ;;
    disabled)
      err=$(systemctl enable "$unit" 2>&1) || kp_fail "cannot enable $unit (for $users): $(kp_cause "$err")"
      [ "$(systemctl is-enabled "$unit" 2>/dev/null || true)" = enabled ] || kp_fail "systemctl enable $unit (for $users) left it $(systemctl is-enabled "$unit" 2>/dev/null || true)"
      STORAGE_SERVICE_CHANGES+=("service:$unit=enabled")
      KP_CHANGED+=("service:$unit=enabled")
      kp_say "enabled $unit (for $users)"
      kp_fault_point "enabled $unit"
      ;;
  esac
  systemctl is-active --quiet "$unit" && continue
  # A daemon for volumes no driver can mount here would fail or hang in its start job (iscsid waits
  # out its whole start timeout without the kernel's iSCSI transport): it stays enabled, for the day
  # the kernel has what it lacks, and is not started.
  if lacking=$(storage_all_lacking "service:$unit"); then
    kp_skip "service $unit (for $users) not started: every driver that needs it lacks kernel support on this node ($lacking)"
    continue
  fi
  err=$(timeout 120 systemctl start "$unit" 2>&1) || kp_fail "service $unit (for $users) did not start: $(storage_start_failure "$unit" "$err")"
  if ! systemctl is-active --quiet "$unit"; then
    if [ "$(systemctl show -p ConditionResult --value "$unit" 2>/dev/null)" = no ]; then
      kp_skip "service $unit (for $users) not started: systemd skips it on this node, as its unit's $(storage_unmet_condition "$unit") is not met; volumes of $users that need it cannot be mounted here"
      continue
    fi
    kp_fail "service $unit (for $users) is $(systemctl is-active "$unit" 2>/dev/null || true) right after systemctl start: $(storage_start_failure "$unit" "")"
  fi
  STORAGE_SERVICE_CHANGES+=("service:$unit=started")
  KP_CHANGED+=("service:$unit=started")
  kp_say "started $unit (for $users)"
  kp_fault_point "started $unit"
done
