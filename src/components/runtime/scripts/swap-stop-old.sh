# shellcheck shell=bash
# Runtime swap, phase 3: stop the kubelet, then the old runtime and everything it leaves running.
# From here to swap-start the node is between runtimes: the window marker makes any failing step
# roll it back (prelude.sh kp_swap_failed). The old runtime's data stays where it is; its config (and
# its binaries when the new runtime installs over them) go into the swap's backup first.
kp_swap_phase "ran: old runtime already stopped" drained stopping

if [ ! -f "$KP_SWAP_DIR/runtime-files.tar" ]; then
  keep=("${KP_SWAP_BACKUP_PATHS[@]}")
  for binary in "${KP_SWAP_BACKUP_BINARIES[@]}"; do
    path=$(command -v "$binary" 2>/dev/null) || continue
    for file in "${path%/*}/$binary"*; do keep+=("$file"); done
  done
  kp_swap_keep "$KP_SWAP_DIR/runtime-files.tar" "${keep[@]}"
  packages=()
  for binary in "${KP_SWAP_BACKUP_BINARIES[@]}"; do
    path=$(command -v "$binary" 2>/dev/null) || continue
    package=$(dpkg-query -S "$path" 2>/dev/null | cut -d: -f1) || continue
    if [ -n "$package" ]; then packages+=("$package=$(dpkg-query -W -f='${Version}' "$package")"); fi
  done
  kp_swap_set OLD_PACKAGES "$(printf '%s\n' "${packages[@]}" | sort -u | tr '\n' ' ')"
  kp_say "kept the old runtime's files in $KP_SWAP_DIR/runtime-files.tar: $(tar -tf "$KP_SWAP_DIR/runtime-files.tar" --absolute-names | grep -cv '/$') file(s)"
fi
touch "$KP_SWAP_WINDOW"
kp_swap_set STATUS stopping

if systemctl is-active --quiet kubelet; then
  systemctl stop kubelet
  KP_RESTARTED+=("kubelet:stopped")
  kp_say "stopped kubelet"
fi

# The kubelet is stopped, so nothing recreates these: the old runtime's pods, through its own CLI.
removed=0
case "$KP_SWAP_FROM_KIND" in
  containerd | crio)
    if command -v crictl >/dev/null && [ -S "${KP_SWAP_FROM_ENDPOINT#unix://}" ]; then
      # Command substitutions inherit the ERR trap (set -E): a CLI that fails here must not fail the step.
      for pod in $(crictl --runtime-endpoint "$KP_SWAP_FROM_ENDPOINT" pods -q 2>/dev/null || true); do
        crictl --runtime-endpoint "$KP_SWAP_FROM_ENDPOINT" stopp "$pod" >>"$KP_LOG" 2>&1 || true
        crictl --runtime-endpoint "$KP_SWAP_FROM_ENDPOINT" rmp "$pod" >>"$KP_LOG" 2>&1 && removed=$((removed + 1))
      done
    elif [ "$KP_SWAP_FROM_KIND" = containerd ] && command -v ctr >/dev/null && [ -S "${KP_SWAP_FROM_ENDPOINT#unix://}" ]; then
      for task in $(ctr -n k8s.io tasks ls -q 2>/dev/null || true); do ctr -n k8s.io tasks kill -s KILL "$task" >>"$KP_LOG" 2>&1 || true; done
      for container in $(ctr -n k8s.io containers ls -q 2>/dev/null || true); do
        ctr -n k8s.io containers rm "$container" >>"$KP_LOG" 2>&1 && removed=$((removed + 1))
      done
    fi
    ;;
  docker)
    # Only the kubelet's containers (k8s_ names): other Docker workloads on the node are not kubeplug's.
    if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
      for container in $(docker ps -aq --filter name='^k8s_' || true); do
        docker rm -f "$container" >>"$KP_LOG" 2>&1 && removed=$((removed + 1))
      done
    fi
    ;;
esac
kp_say "removed $removed pod(s)/container(s) of $KP_SWAP_FROM_DESCRIPTION"

for unit in "${KP_SWAP_OLD_UNITS[@]}"; do
  [ "$(systemctl show -p LoadState --value "$unit" 2>/dev/null)" = loaded ] || continue
  if systemctl is-active --quiet "$unit"; then
    systemctl stop "$unit"
    KP_RESTARTED+=("$unit:stopped")
  fi
  if systemctl is-enabled --quiet "$unit" 2>/dev/null; then
    systemctl disable "$unit" >>"$KP_LOG" 2>&1
    KP_CHANGED+=("unit:$unit:disabled")
  fi
done
# containerd's unit has KillMode=process: shims (and CRI-O's conmon) outlive the daemon.
for pattern in "${KP_SWAP_LEFTOVERS[@]}"; do
  killed=$(kp_kill_matching "$pattern")
  [ "$killed" = 0 ] || kp_say "killed $killed leftover process(es) matching $pattern"
done

# CNI state of sandboxes that are gone: host-local IP reservations would exhaust the range.
for dir in /var/lib/cni/networks/*/; do
  [ -d "$dir" ] || continue
  count=$(find "$dir" -maxdepth 1 -type f ! -name lock ! -name 'last_reserved_ip*' | wc -l)
  if [ "$count" -gt 0 ]; then
    find "$dir" -maxdepth 1 -type f ! -name lock ! -name 'last_reserved_ip*' -delete
    kp_say "released $count stale host-local IP reservation(s) in $dir"
    KP_CHANGED+=("$dir")
  fi
done
mkdir -p "$KP_SWAP_DIR/cni-aside"
for conflist in "${KP_SWAP_DEFAULT_CONFLISTS[@]}"; do
  [ -f "/etc/cni/net.d/$conflist" ] || continue
  mv -f "/etc/cni/net.d/$conflist" "$KP_SWAP_DIR/cni-aside/"
  kp_say "moved the old runtime's own /etc/cni/net.d/$conflist aside (it would shadow the cluster's CNI)"
  KP_CHANGED+=("/etc/cni/net.d/$conflist")
done
kp_fault_point "stopped $KP_SWAP_FROM_DESCRIPTION"
kp_swap_set STATUS stopped
kp_say "stopped $KP_SWAP_FROM_DESCRIPTION; its data stays in place"
