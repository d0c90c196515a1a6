# shellcheck shell=bash
# Node prerequisites (Kubernetes "Container Runtimes" prerequisites), before any runtime install:
# the swap check the kubelet's failSwapOn calls for, kernel modules loaded now and at boot, sysctls
# set now and at boot. Nothing is written until every check passed.
#
# Errors and reported skips:
#   - a module the kernel lacks while the node can load modules (modprobe fails): error, naming the
#     module and modprobe's cause;
#   - a module the kernel lacks on a node that cannot load modules at all (no /proc/modules: a kernel
#     without module support; no /lib/modules/<release>: a container that shares its host's kernel):
#     reported as not done ("skipped"), with the sysctls that exist only with it. Nothing on the node
#     can fix that (the kernel's owner can), and whether it matters depends on the CNI;
#   - a sysctl the kernel does not have (not explained by a skipped module), or one it refuses to
#     set (a read-only /proc/sys in a container, a value out of range): error, with the key and cause;
#   - a glob key that matches nothing: reported as not done.
# On failure the files this run wrote are put back and every sysctl it set gets its previous value;
# modules it loaded stay loaded (unloading one can break what uses it) and are named.

KP_SYSCTL_PREVIOUS=()
KP_SYSCTL_SET=()
KP_SKIPPED_MODULES=()

prepare_rollback() {
  local entry path value key
  for entry in "${KP_SYSCTL_PREVIOUS[@]}"; do
    path=${entry%%=*}
    value=${entry#*=}
    key=${path#/proc/sys/}
    key=${key//\//.}
    if printf '%s\n' "$value" >"$path" 2>/dev/null; then kp_say "restored $key = $value"; else kp_say "could not restore $key to $value"; fi
  done
  # Modules this run loaded are in KP_CHANGED as module:<name>: kp_restore_changed names them as not rolled back.
  kp_rollback_files
}
# shellcheck disable=SC2034 # kp_fail (prelude.sh) calls the hook
KP_ROLLBACK_HOOK=prepare_rollback

# Swap ------------------------------------------------------------------------------------------
swap_devices=$(awk 'NR > 1 { printf "%s%s", sep, $1; sep = ", " }' /proc/swaps 2>/dev/null || true)
if [ -n "$swap_devices" ]; then
  if [ "$KP_FAIL_SWAP_ON" = 1 ]; then
    kp_fail "swap is on ($swap_devices), and the kubelet (kubeplug:cluster.kubelet.failSwapOn: true) will not start with swap on: turn it off (swapoff -a, and remove it from /etc/fstab) or set failSwapOn: false with memorySwap.swapBehavior; nothing was changed"
  fi
  kp_say "swap is on ($swap_devices); the kubelet runs with failSwapOn: false and swapBehavior $KP_SWAP_BEHAVIOR"
fi
if [ "$KP_SWAP_BEHAVIOR" = LimitedSwap ] && [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then
  kp_fail "memorySwap.swapBehavior LimitedSwap needs cgroup v2, but /sys/fs/cgroup is not a cgroup v2 hierarchy on this node; nothing was changed"
fi

# Modules ---------------------------------------------------------------------------------------
module_notes=()
for module in "${KP_MODULES[@]}"; do
  if kp_module_present "$module"; then
    module_notes+=("$module")
  elif ! kp_load_module "$module"; then
    KP_SKIPPED_MODULES+=("$module")
    kp_skip "$module not available: kernel $(uname -r) does not have it, and $KP_MODULE_UNLOADABLE; not loaded"
  fi
done
[ "${#module_notes[@]}" = 0 ] || kp_say "kernel modules present: ${module_notes[*]}"

# sysctls: check every key before anything is written ----------------------------------------------
# prepare_skipped_by KEY: the skipped module the key exists only with, if any.
prepare_skipped_by() {
  local entry prefix module skipped
  for entry in "${KP_SYSCTL_MODULES[@]}"; do
    prefix=${entry%%=*}
    module=${entry#*=}
    [[ $1 == "$prefix"* ]] || continue
    for skipped in "${KP_SKIPPED_MODULES[@]}"; do
      if [ "$skipped" = "$module" ]; then
        printf '%s' "$module"
        return 0
      fi
    done
  done
  return 1
}

normalize() {
  printf '%s' "$*" | tr -s '[:space:]' ' ' | sed 's/^ //; s/ $//'
}

plan=()
declare -A skipped_keys=()
shopt -s nullglob
for entry in "${KP_SYSCTLS[@]}"; do
  key=${entry%%=*}
  value=${entry#*=}
  pattern="/proc/sys/${key//./\/}"
  if [[ $key == *'*'* ]]; then
    # shellcheck disable=SC2206 # the glob is meant to expand
    paths=($pattern)
    if [ "${#paths[@]}" = 0 ]; then
      kp_skip "sysctl $key matches nothing on this node; not set now (the boot-time file keeps it)"
      continue
    fi
  else
    paths=("$pattern")
  fi
  for path in "${paths[@]}"; do
    if [ ! -e "$path" ]; then
      if module=$(prepare_skipped_by "$key"); then
        skipped_keys[$module]+="${skipped_keys[$module]:+, }$key"
        continue 2
      fi
      kp_fail "cannot set sysctl $key: this kernel has no $path; nothing was changed"
    fi
    plan+=("$path=$value")
  done
done
shopt -u nullglob
while IFS= read -r module; do
  [ -z "$module" ] || kp_skip "$module not available: sysctl(s) ${skipped_keys[$module]} skipped"
done < <(printf '%s\n' "${!skipped_keys[@]}" | sort)

# Files: at boot, systemd-modules-load and systemd-sysctl read them ---------------------------------
kp_install_file "$(kp_staged "$KP_MODULES_FILE")" "$KP_MODULES_FILE" 0644 || true
kp_install_file "$(kp_staged "$KP_SYSCTL_FILE")" "$KP_SYSCTL_FILE" 0644 || true
kp_prune_owned

# At boot, a file read after ours wins (sysctl.d(5): files sort by name across /etc, /run and
# /usr/lib, /etc hiding the same name elsewhere; `sysctl --system` reads /etc/sysctl.conf last).
# Those files are not kubeplug's to change: name every key they would set to another value.
prepare_later_files() {
  local ours=${KP_SYSCTL_FILE##*/} dir file name
  local -A seen=()
  for dir in /etc/sysctl.d /run/sysctl.d /usr/local/lib/sysctl.d /usr/lib/sysctl.d /lib/sysctl.d; do
    for file in "$dir"/*.conf; do
      name=${file##*/}
      if [ ! -f "$file" ] || [ -n "${seen[$name]:-}" ]; then continue; fi
      seen[$name]=1
      if [[ $name > $ours ]]; then printf '%s\n' "$file"; fi
    done
  done
  if [ -f /etc/sysctl.conf ]; then printf '%s\n' /etc/sysctl.conf; fi
  return 0
}
declare -A read_files=(["$(readlink -f "$KP_SYSCTL_FILE")"]=1)
shopt -s nullglob
while IFS= read -r later; do
  # Debian's 99-sysctl.conf is a link to /etc/sysctl.conf: one file, named once.
  later=$(readlink -f "$later")
  [ -z "${read_files[$later]:-}" ] || continue
  read_files[$later]=1
  for entry in "${KP_SYSCTLS[@]}"; do
    key=${entry%%=*}
    [[ $key != *'*'* ]] || continue
    value=$(normalize "${entry#*=}")
    while IFS= read -r other; do
      other=$(normalize "$other")
      [ "$other" = "$value" ] || kp_warn "at boot, $later sets $key = $other after $KP_SYSCTL_FILE (which sets $value), and wins; change it there"
    done < <(sed -nE "s/^[[:space:]]*-?${key//./[./]}[[:space:]]*=(.*)$/\1/p" "$later" 2>/dev/null)
  done
done < <(prepare_later_files)
shopt -u nullglob

# Now: every value that differs is written, and read back ------------------------------------------
for entry in "${plan[@]}"; do
  path=${entry%%=*}
  value=${entry#*=}
  key=${path#/proc/sys/}
  key=${key//\//.}
  current=$(normalize "$(cat "$path" 2>/dev/null || true)")
  [ "$current" != "$(normalize "$value")" ] || continue
  if ! err=$( { printf '%s\n' "$value" >"$path"; } 2>&1); then
    kp_fail "cannot set sysctl $key to $value (it is $current): $(kp_cause "$err")"
  fi
  KP_SYSCTL_PREVIOUS+=("$path=$current")
  got=$(normalize "$(cat "$path" 2>/dev/null || true)")
  [ "$got" = "$(normalize "$value")" ] || kp_fail "cannot set sysctl $key to $value: the kernel kept $got"
  KP_SYSCTL_SET+=("sysctl:$key=$value")
  kp_say "set $key = $value (was $current)"
  kp_fault_point "set $key"
done
KP_CHANGED+=("${KP_SYSCTL_SET[@]}")
