#!/usr/bin/env bash
# kubeplug runtime swap rollback for node w1: restores the runtime and kubelet files preflight and stop-old kept.
# Run by kubeplug when a step fails mid-swap; by hand: rollback.sh manual "why" (see docs/runtime-swap.md).
set -Eeuo pipefail
KP_NODE='w1'
KP_SWAP_ID='9f677fdbdf2707a1'
KP_SWAP_DIR='/var/lib/kubeplug/swap'
KP_SWAP_FROM_REPORTED='docker'
KP_SWAP_FROM_DESCRIPTION='Docker Engine (cri-dockerd)'
KP_SWAP_KUBELET_DEFAULT_ENDPOINT='unix:///run/containerd/containerd.sock'
KP_SWAP_REMOVED_FLAGS=('--network-plugin@1.24' '--cni-bin-dir@1.24' '--cni-conf-dir@1.24' '--docker-endpoint@1.24' '--container-runtime@1.27' '--pod-infra-container-image@1.35')
KP_SWAP_NEW_UNITS=('containerd.service')
KP_SWAP_RESTORE_UNITS=('containerd.service' 'docker.service' 'docker.socket' 'cri-docker.service' 'cri-docker.socket')
KP_SWAP_KUBECTL='/usr/bin/kubectl'
KP_SWAP_KUBECONFIG='/etc/kubeplug/swap.kubeconfig'
KP_SWAP_READY_TIMEOUT='300'
# shellcheck shell=bash
# The runtime swap's shared functions: its record on the node, the kubelet's flag and config files,
# kubectl, and the rollback. Every swap phase and the node's rollback.sh (written by preflight) carry
# it. Facts behind it: ../shared/research/runtime-swap.md (kubelet endpoint precedence in §1, phases
# in §2, the pitfalls in §6).

KP_SWAP_STATE="$KP_SWAP_DIR/state"
KP_SWAP_WINDOW="$KP_SWAP_DIR/window-open"
KP_KUBEADM_FLAGS=/var/lib/kubelet/kubeadm-flags.env
KP_INSTANCE_CONFIG=/var/lib/kubelet/instance-config.yaml
KP_CRI_SOCKET_ANNOTATION=kubeadm.alpha.kubernetes.io/cri-socket

kp_swap_say() {
  if declare -F kp_say >/dev/null; then kp_say "$*"; else printf 'kubeplug[%s/rollback]: %s\n' "$KP_NODE" "$*"; fi
}

# The record is KEY=VALUE lines; values never hold newlines. Rewritten whole, through a rename.
kp_swap_get() {
  [ -f "$KP_SWAP_STATE" ] || return 0
  sed -n "s/^$1=//p" "$KP_SWAP_STATE" | tail -n 1
}

kp_swap_set() {
  local tmp="$KP_SWAP_STATE.new" key value
  mkdir -p "$KP_SWAP_DIR"
  { [ -f "$KP_SWAP_STATE" ] && cat "$KP_SWAP_STATE"; true; } >"$tmp"
  while [ $# -ge 2 ]; do
    key=$1 value=$2
    shift 2
    grep -v "^$key=" "$tmp" >"$tmp.2" || true
    printf '%s=%s\n' "$key" "$value" >>"$tmp.2"
    mv -f "$tmp.2" "$tmp"
  done
  sync "$tmp" 2>/dev/null || true
  mv -f "$tmp" "$KP_SWAP_STATE"
}

# What this node's swap is at: nothing (no record of this swap), or the status preflight and the
# phases wrote. fresh and on-new mean there is nothing to do on this node.
kp_swap_status() {
  if [ "$(kp_swap_get SWAP_ID)" != "$KP_SWAP_ID" ]; then
    echo none
  else
    kp_swap_get STATUS
  fi
}

kp_swap_nothing_to_do() {
  case "$(kp_swap_status)" in
    fresh | on-new | "done") return 0 ;;
    *) return 1 ;;
  esac
}

# Phases after preflight stop on a node that was rolled back: the steps before them ran in an
# earlier `pulumi up`, so only a new attempt (every script changes) can run the swap again.
kp_swap_guard() {
  [ "$(kp_swap_status)" = rolled-back ] || return 0
  kp_fail "this node was rolled back to $KP_SWAP_FROM_DESCRIPTION after $(kp_swap_get CAUSE); fix that, then raise swap.attempt in the stack and run again (every phase re-runs; finished nodes skip)"
}

# Opens a phase: stops at a rolled-back node, ends the step when the node has nothing to swap, and
# returns only when the record is at one of the given statuses. Any other status means the phase ran
# already ("ran: MESSAGE": the step ends saying so) or cannot run yet ("needs: WHAT": it fails).
kp_swap_phase() {
  local otherwise=$1 status
  shift
  kp_swap_guard
  status=$(kp_swap_status)
  if kp_swap_nothing_to_do; then
    kp_say "nothing to swap on this node ($status)"
    kp_end
    exit 0
  fi
  if printf '%s\n' "$@" | grep -qxF -- "$status"; then return 0; fi
  case "$otherwise" in
    ran:*)
      kp_say "${otherwise#ran: } ($status)"
      kp_end
      exit 0
      ;;
    *) kp_fail "the swap is at $status, not ready to ${otherwise#needs: }" ;;
  esac
}

kp_kubectl() {
  "$KP_SWAP_KUBECTL" --kubeconfig "$KP_SWAP_KUBECONFIG" --request-timeout=30s "$@"
}

# --- the kubelet's flags, as kubeadm's unit assembles them -----------------------------------------
# ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS
# $KUBELET_EXTRA_ARGS: the unit's Environment= lines, then kubeadm-flags.env, then /etc/default/kubelet
# (Debian) or /etc/sysconfig/kubelet (RPM); the last occurrence of a flag wins.

kp_kubelet_defaults_file() {
  if [ -f /etc/sysconfig/kubelet ] && [ ! -f /etc/default/kubelet ]; then echo /etc/sysconfig/kubelet; else echo /etc/default/kubelet; fi
}

# The value of VAR in an EnvironmentFile, without the quotes systemd strips.
kp_env_file_value() {
  local file=$1 var=$2 value
  [ -f "$file" ] || return 0
  value=$(sed -n "s/^[[:space:]]*$var=//p" "$file" | tail -n 1)
  value=${value#\"}
  value=${value%\"}
  value=${value#\'}
  value=${value%\'}
  printf '%s' "$value"
}

# The unit's own Environment= value of VAR (kubeadm's drop-in sets KUBELET_KUBECONFIG_ARGS and KUBELET_CONFIG_ARGS).
kp_unit_env_value() {
  { systemctl show -p Environment --value kubelet 2>/dev/null || true; } | xargs -n 1 printf '%s\n' | sed -n "s/^$1=//p" | tail -n 1
}

# Every kubelet flag, one per line, in precedence order (later wins).
kp_kubelet_args() {
  local part word
  for part in "$(kp_unit_env_value KUBELET_KUBECONFIG_ARGS)" "$(kp_unit_env_value KUBELET_CONFIG_ARGS)" \
    "$(kp_env_file_value "$KP_KUBEADM_FLAGS" KUBELET_KUBEADM_ARGS)" "$(kp_env_file_value "$(kp_kubelet_defaults_file)" KUBELET_EXTRA_ARGS)"; do
    for word in $part; do printf '%s\n' "$word"; done
  done
}

# The value of a flag in a list of args on stdin (--flag=value or --flag value); the last one wins.
kp_flag_value() {
  awk -v flag="$1" '
    pending { value = $0; pending = 0; next }
    $0 == flag { pending = 1; next }
    index($0, flag "=") == 1 { value = substr($0, length(flag) + 2) }
    END { printf "%s", value }'
}

# A top-level `key: value` of a kubelet config YAML (quotes stripped); what kubeadm writes is flat enough.
kp_yaml_value() {
  local file=$1 key=$2 value
  [ -f "$file" ] || return 0
  value=$(sed -n "s/^$key:[[:space:]]*//p" "$file" | tail -n 1)
  value=${value%%[[:space:]]#*}
  value=${value#\"}
  value=${value%\"}
  value=${value#\'}
  value=${value%\'}
  printf '%s' "$value"
}

kp_kubelet_config_file() { kp_kubelet_args | kp_flag_value --config; }
kp_kubelet_config_dir() { kp_kubelet_args | kp_flag_value --config-dir; }

kp_kubelet_dropins() {
  local dir
  dir=$(kp_kubelet_config_dir)
  [ -n "$dir" ] && [ -d "$dir" ] || return 0
  find "$dir" -maxdepth 1 -type f -name '*.conf' | sort
}

# A kubelet setting: the flag, else the last drop-in that sets it, else the config file, else the default.
kp_kubelet_setting() {
  local flag=$1 key=$2 default=$3 value dropin
  value=$(kp_kubelet_args | kp_flag_value "$flag")
  if [ -z "$value" ]; then
    while IFS= read -r dropin; do
      local v
      v=$(kp_yaml_value "$dropin" "$key")
      [ -z "$v" ] || value=$v
    done < <(kp_kubelet_dropins)
  fi
  [ -n "$value" ] || value=$(kp_yaml_value "$(kp_kubelet_config_file)" "$key")
  printf '%s' "${value:-$default}"
}

kp_kubelet_endpoint() { kp_kubelet_setting --container-runtime-endpoint containerRuntimeEndpoint "$KP_SWAP_KUBELET_DEFAULT_ENDPOINT"; }

# Every file the swap may rewrite, and so every file preflight keeps.
kp_kubelet_files() {
  local config
  config=$(kp_kubelet_config_file)
  printf '%s\n' "$(kp_kubelet_defaults_file)" "$KP_KUBEADM_FLAGS" "$KP_INSTANCE_CONFIG" /etc/crictl.yaml
  [ -z "$config" ] || printf '%s\n' "$config"
  kp_kubelet_dropins
}

# "1.35.0" from `kubelet --version` ("Kubernetes v1.35.0").
kp_kubelet_version() {
  local out
  out=$(kubelet --version 2>/dev/null) || return 0
  out=${out##* v}
  printf '%s' "${out%%[-+ ]*}"
}

# Whether version $1 (X.Y.Z) is at least minor $2 (X.Y).
kp_version_at_least() {
  local have_major have_minor want_major want_minor
  IFS=. read -r have_major have_minor _ <<<"$1"
  IFS=. read -r want_major want_minor <<<"$2"
  [ "$have_major" -gt "$want_major" ] || { [ "$have_major" = "$want_major" ] && [ "$have_minor" -ge "$want_minor" ]; }
}

# The flags (of KP_SWAP_REMOVED_FLAGS) a kubelet of version $1 refuses, one per line.
kp_refused_flags() {
  local entry
  [ -n "$1" ] || return 0
  for entry in "${KP_SWAP_REMOVED_FLAGS[@]}"; do
    if kp_version_at_least "$1" "${entry#*@}"; then printf '%s\n' "${entry%@*}"; fi
  done
}

# The version the installed runtime binary reports, e.g. 1.6.20 from
# "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+b1".
kp_runtime_version() {
  # Called in command substitutions, which inherit the ERR trap: a runtime that is not installed is "".
  command -v "${1/docker/dockerd}" >/dev/null 2>&1 || return 0
  case "$1" in
    containerd) containerd --version 2>/dev/null | awk '{ v = $3; sub(/^v/, "", v); sub(/[~+-].*/, "", v); print v }' ;;
    crio) crio --version 2>/dev/null | awk '/^crio version/ { print $3 } /^Version:/ { print $2 }' | head -n 1 ;;
    docker) dockerd --version 2>/dev/null | awk '{ v = $3; sub(/,$/, "", v); sub(/[~+-].*/, "", v); print v }' ;;
  esac
}

# Kills leftover processes given as "NAME ARGS-REGEX": those whose executable name starts with NAME
# and whose command line matches ARGS-REGEX. Shims and conmon outlive their daemon. The name comes
# first: the shell running this step has the whole script, patterns included, in its command line.
kp_kill_matching() {
  local name=${1%% *} pattern=${1#* } pid comm cmdline killed=0
  for pid in /proc/[0-9]*; do
    pid=${pid#/proc/}
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
    [[ $comm == "$name"* ]] || continue
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || continue
    if [[ $cmdline =~ $pattern ]]; then
      kill -KILL "$pid" 2>/dev/null && killed=$((killed + 1))
    fi
  done
  echo "$killed"
}

# Stores paths (files or directories, those that exist) in a tar and lists the missing ones beside it.
kp_swap_keep() {
  local tar=$1 path present=()
  shift
  : >"$tar.absent"
  for path in "$@"; do
    if [ -e "$path" ]; then present+=("$path"); else printf '%s\n' "$path" >>"$tar.absent"; fi
  done
  tar -cpf "$tar.new" --absolute-names "${present[@]}" 2>/dev/null || tar -cpf "$tar.new" --files-from /dev/null
  sync "$tar.new" 2>/dev/null || true
  mv -f "$tar.new" "$tar"
}

# Puts kept paths back as they were, and removes those that did not exist then.
kp_swap_restore() {
  local tar=$1 path
  [ -f "$tar" ] || return 0
  while IFS= read -r path; do
    [ -z "$path" ] || rm -rf "$path"
  done <"$tar.absent"
  tar -xpf "$tar" --absolute-names
}

kp_node_field() {
  kp_kubectl get node "$KP_NODE" -o "jsonpath=$1"
}

# Waits until the node is Ready and reports runtime $1 (the name before ://) at version $2 (empty: any).
kp_wait_node_on() {
  local name=$1 version=$2 deadline reported ready
  deadline=$((SECONDS + KP_SWAP_READY_TIMEOUT))
  while :; do
    reported=$(kp_node_field '{.status.nodeInfo.containerRuntimeVersion}' 2>/dev/null || true)
    ready=$(kp_node_field '{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)
    if [ "$ready" = True ] && [[ $reported == "$name://"* ]] && { [ -z "$version" ] || [[ ${reported#*://} == "$version"* ]]; }; then
      echo "$reported"
      return 0
    fi
    [ "$SECONDS" -lt "$deadline" ] || { echo "Ready=${ready:-unknown}, runtime ${reported:-unknown}"; return 1; }
    sleep 2
  done
}

# --- rollback -------------------------------------------------------------------------------------
# Back to the old runtime: kubelet stopped, the new runtime stopped, every kept file restored, the old
# units started again, the annotation restored, kubelet started, and the node uncordoned if it was
# schedulable before the swap. Each part runs even if an earlier one failed, and says how it went.
kp_swap_rollback() {
  local phase=$1 cause=$2 unit problems=() reported uncordon="left cordoned"
  set +e
  trap - ERR
  kp_swap_set STATUS rolling-back FAILED_PHASE "$phase"
  kp_swap_say "rolling back to $KP_SWAP_FROM_DESCRIPTION after $phase failed: $cause"
  systemctl stop kubelet >/dev/null 2>&1
  for unit in "${KP_SWAP_NEW_UNITS[@]}"; do
    systemctl stop "$unit" >/dev/null 2>&1
    if ! printf '%s\n' "${KP_SWAP_RESTORE_UNITS[@]}" | grep -qx "$unit"; then systemctl disable "$unit" >/dev/null 2>&1; fi
  done
  # A package the new runtime upgraded goes back through apt, so dpkg keeps knowing what is installed.
  local spec
  for spec in $(kp_swap_get OLD_PACKAGES); do
    if ! env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --allow-downgrades --no-install-recommends \
      -o Dpkg::Options::=--force-confold "$spec" >>"$KP_SWAP_DIR/rollback.log" 2>&1; then
      problems+=("apt could not reinstall $spec: its files are restored from the backup, but dpkg lists the newer version")
    fi
  done
  kp_swap_restore "$KP_SWAP_DIR/runtime-files.tar" || problems+=("restoring the old runtime's files failed")
  kp_swap_restore "$KP_SWAP_DIR/kubelet-files.tar" || problems+=("restoring the kubelet's files failed")
  if [ -d "$KP_SWAP_DIR/cni-aside" ]; then
    find "$KP_SWAP_DIR/cni-aside" -maxdepth 1 -type f -exec mv -f {} /etc/cni/net.d/ \;
  fi
  systemctl daemon-reload
  for unit in "${KP_SWAP_RESTORE_UNITS[@]}"; do
    [ "$(systemctl show -p LoadState --value "$unit" 2>/dev/null)" = loaded ] || continue
    systemctl enable "$unit" >/dev/null 2>&1
    systemctl start "$unit" >/dev/null 2>&1 || problems+=("$unit did not start")
  done
  local annotation
  annotation=$(kp_swap_get ANNOTATION)
  if [ -n "$annotation" ] && [ "$annotation" != "<none>" ]; then
    kp_kubectl annotate node "$KP_NODE" --overwrite "$KP_CRI_SOCKET_ANNOTATION=$annotation" >/dev/null 2>&1 || problems+=("the cri-socket annotation could not be restored")
  fi
  systemctl start kubelet >/dev/null 2>&1 || problems+=("kubelet did not start")
  if reported=$(kp_wait_node_on "$KP_SWAP_FROM_REPORTED" ""); then
    if [ "$(kp_swap_get WAS_SCHEDULABLE)" = true ]; then
      if kp_kubectl uncordon "$KP_NODE" >/dev/null 2>&1; then uncordon=uncordoned; else problems+=("uncordon failed"); fi
    else
      uncordon="left cordoned, as it was before the swap"
    fi
  else
    problems+=("the node is not Ready on $KP_SWAP_FROM_REPORTED ($reported)")
  fi
  rm -f "$KP_SWAP_WINDOW"
  kp_swap_set STATUS rolled-back CAUSE "$phase: $cause"
  if [ "${#problems[@]}" = 0 ]; then
    kp_swap_say "rolled back to $KP_SWAP_FROM_DESCRIPTION ($reported), $uncordon"
  else
    kp_swap_say "rollback to $KP_SWAP_FROM_DESCRIPTION incomplete, $uncordon: $(printf '%s; ' "${problems[@]}")see docs/runtime-swap.md, \"recover by hand\""
  fi
  set -e
}

kp_swap_rollback "${1:-manual}" "${2:-run by hand}"
