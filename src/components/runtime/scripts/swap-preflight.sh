# shellcheck shell=bash
# Runtime swap, phase 1: preflight. Changes nothing on the node's kubelet or runtimes: it decides
# whether this node has anything to swap, checks what would make the swap fail halfway, and records
# (under $KP_SWAP_DIR) what a rollback needs: the kubelet's files, crictl.yaml and the annotation.
kp_require_commands systemctl tar awk sed

status=$(kp_swap_status)
if [ "$status" = rolling-back ]; then
  kp_say "the last rollback was interrupted; finishing it before anything else"
  "$KP_SWAP_DIR/rollback.sh" swap-preflight "finishing an interrupted rollback" || kp_fail "finishing the interrupted rollback failed; see docs/runtime-swap.md, \"recover by hand\""
  status=$(kp_swap_status)
fi
case "$status" in
  draining | drained | stopping | stopped | prepulled | repointed)
    # A run that was killed mid-swap: its record (taken before anything changed) stays the truth.
    kp_say "resuming the swap to $KP_SWAP_TO_DESCRIPTION, last at $status (record of $(kp_swap_get PREFLIGHT_AT))"
    kp_install_file "$(kp_staged "$KP_SWAP_DIR/rollback.sh")" "$KP_SWAP_DIR/rollback.sh" 0700 || true
    kp_end
    exit 0
    ;;
esac

if ! systemctl cat kubelet >/dev/null 2>&1 && [ ! -f "$KP_KUBEADM_FLAGS" ] && [ ! -f /var/lib/kubelet/config.yaml ]; then
  kp_say "no kubelet on this node yet: a fresh node, nothing to swap (the runtime steps install $KP_SWAP_TO_DESCRIPTION)"
  kp_swap_set SWAP_ID "$KP_SWAP_ID" STATUS fresh PREFLIGHT_AT "$(date -u +%FT%TZ)"
  kp_end
  exit 0
fi

endpoint=$(kp_kubelet_endpoint)
installed_new=$(kp_runtime_version "$KP_SWAP_TO_KIND")
if [ "$endpoint" = "$KP_SWAP_TO_ENDPOINT" ] && { [ "$KP_SWAP_FROM_KIND" != "$KP_SWAP_TO_KIND" ] || [ "$installed_new" = "$KP_SWAP_TO_VERSION" ]; }; then
  kp_say "the kubelet already uses $KP_SWAP_TO_ENDPOINT ($KP_SWAP_TO_DESCRIPTION): nothing to swap"
  kp_swap_set SWAP_ID "$KP_SWAP_ID" STATUS on-new PREFLIGHT_AT "$(date -u +%FT%TZ)"
  kp_end
  exit 0
fi
[ "$endpoint" = "$KP_SWAP_FROM_ENDPOINT" ] ||
  kp_fail "the kubelet uses the CRI endpoint $endpoint, neither $KP_SWAP_FROM_ENDPOINT ($KP_SWAP_FROM_DESCRIPTION, swap.from) nor $KP_SWAP_TO_ENDPOINT ($KP_SWAP_TO_DESCRIPTION); nothing was changed"
if [ -n "$KP_SWAP_FROM_VERSION" ]; then
  installed_old=$(kp_runtime_version "$KP_SWAP_FROM_KIND")
  [ "$installed_old" = "$KP_SWAP_FROM_VERSION" ] ||
    kp_fail "the node runs $KP_SWAP_FROM_KIND ${installed_old:-(not found)}, but swap.from says $KP_SWAP_FROM_VERSION; nothing was changed"
fi

[ -x "$KP_SWAP_KUBECTL" ] || kp_fail "no kubectl at $KP_SWAP_KUBECTL (swap.kubectl.path): the swap cordons, drains and uncordons from the node; nothing was changed"
[ -f "$KP_SWAP_KUBECONFIG" ] || kp_fail "no kubeconfig at $KP_SWAP_KUBECONFIG (swap.kubectl.kubeconfig); nothing was changed"
if ! unschedulable=$(kp_node_field '{.spec.unschedulable}' 2>&1); then
  kp_fail "kubectl get node $KP_NODE failed: $(kp_cause "$unschedulable"); nothing was changed"
fi
reported=$(kp_node_field '{.status.nodeInfo.containerRuntimeVersion}')

cgroup=$(kp_kubelet_setting --cgroup-driver cgroupDriver cgroupfs)
[ "$cgroup" = "$KP_SWAP_CGROUP_DRIVER" ] ||
  kp_fail "the kubelet uses the $cgroup cgroup driver but $KP_SWAP_TO_DESCRIPTION would use $KP_SWAP_CGROUP_DRIVER (kubeplug:cluster.kubelet.cgroupDriver): pods would not start, or a kubelet that adopts the runtime's driver would switch it under them; nothing was changed"

version=$(kp_kubelet_version)
if [ -n "$KP_SWAP_KUBELET_VERSION" ] && [ "$version" != "$KP_SWAP_KUBELET_VERSION" ]; then
  kp_fail "the node's kubelet is ${version:-unknown} but kubeplug:cluster.kubelet.version says $KP_SWAP_KUBELET_VERSION; nothing was changed"
fi
extra=$(kp_env_file_value "$(kp_kubelet_defaults_file)" KUBELET_EXTRA_ARGS)
while IFS= read -r flag; do
  [ -n "$flag" ] || continue
  if [[ " $extra " == *" $flag"[=\ ]* ]]; then
    kp_fail "KUBELET_EXTRA_ARGS in $(kp_kubelet_defaults_file) has $flag, which kubelet $version refuses: it would not start again after the swap; remove it there first (kubeplug only rewrites kubeadm's kubeadm-flags.env); nothing was changed"
  fi
done < <(kp_refused_flags "$version")

# Pods that stay on the node (DaemonSets, static pods) come back on the new runtime: their RuntimeClass handlers must exist there.
classes=$(kp_kubectl get pods --all-namespaces --field-selector "spec.nodeName=$KP_NODE" -o 'jsonpath={range .items[*]}{.spec.runtimeClassName}{"\n"}{end}' 2>&1) ||
  kp_fail "kubectl get pods on $KP_NODE failed: $(kp_cause "$classes"); nothing was changed"
for class in $(printf '%s\n' "$classes" | sort -u); do
  handler=$(kp_kubectl get runtimeclass "$class" -o 'jsonpath={.handler}' 2>&1) || kp_fail "kubectl get runtimeclass $class failed: $(kp_cause "$handler"); nothing was changed"
  printf '%s\n' "${KP_SWAP_TO_HANDLERS[@]}" | grep -qx "$handler" ||
    kp_fail "pods on $KP_NODE use RuntimeClass $class (handler $handler), which $KP_SWAP_TO_DESCRIPTION does not have (it has ${KP_SWAP_TO_HANDLERS[*]}); nothing was changed"
done

annotation=$(kp_node_field "{.metadata.annotations.kubeadm\.alpha\.kubernetes\.io/cri-socket}" 2>/dev/null || true)
mkdir -p "$KP_SWAP_DIR"
chmod 0700 "$KP_SWAP_DIR"
mapfile -t files < <(kp_kubelet_files | sort -u)
kp_swap_keep "$KP_SWAP_DIR/kubelet-files.tar" "${files[@]}"
rm -f "$KP_SWAP_DIR/runtime-files.tar" "$KP_SWAP_DIR/runtime-files.tar.absent" "$KP_SWAP_WINDOW"
rm -rf "$KP_SWAP_DIR/cni-aside"
kp_install_file "$(kp_staged "$KP_SWAP_DIR/rollback.sh")" "$KP_SWAP_DIR/rollback.sh" 0700 || true
kp_swap_set SWAP_ID "$KP_SWAP_ID" STATUS planned PREFLIGHT_AT "$(date -u +%FT%TZ)" \
  WAS_SCHEDULABLE "$([ "$unschedulable" = true ] && echo false || echo true)" \
  ANNOTATION "${annotation:-<none>}" KUBELET_VERSION "$version" OLD_ENDPOINT "$endpoint" CAUSE ""
kp_say "ready to swap $KP_SWAP_FROM_DESCRIPTION -> $KP_SWAP_TO_DESCRIPTION in wave $KP_SWAP_WAVE: kubelet $version on $endpoint ($cgroup), node reports $reported$([ "$unschedulable" = true ] && echo ", already cordoned"); kept ${#files[@]} kubelet file(s)"
kp_end
