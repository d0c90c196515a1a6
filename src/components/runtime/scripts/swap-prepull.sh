# shellcheck shell=bash
# Runtime swap, phase 4 (after the new runtime's install and configure steps): pull into the new
# runtime every image the node needs again at once, before the kubelet starts on it. Images are not
# shared between runtimes (research §6, pitfall 5): the sandbox image, and the images of the pods the
# drain left (DaemonSet and static pods: the control plane itself on a control-plane node).
kp_swap_phase "ran: images already pulled" stopped

images=("$KP_SWAP_SANDBOX_IMAGE")
listed=$(kp_kubectl get pods --all-namespaces --field-selector "spec.nodeName=$KP_NODE" \
  -o 'jsonpath={range .items[*]}{range .spec.initContainers[*]}{.image}{"\n"}{end}{range .spec.containers[*]}{.image}{"\n"}{end}{end}' 2>&1) ||
  kp_fail "kubectl get pods on $KP_NODE failed: $(kp_cause "$listed")"
# A node whose pods need no image but the sandbox's leaves grep nothing to print (exit 1).
others=$(printf '%s\n' "$listed" | sed '/^$/d' | sort -u | { grep -vxF "$KP_SWAP_SANDBOX_IMAGE" || true; })
if [ -n "$others" ]; then mapfile -t -O 1 images <<<"$others"; fi

# containerd: ctr in the CRI's namespace, through the same hosts.toml the CRI uses; CRI-O: crictl.
present() {
  case "$KP_SWAP_TO_KIND" in
    containerd) ctr -n k8s.io images ls -q 2>/dev/null | grep -qxF "$1" ;;
    crio) crictl --runtime-endpoint "$KP_SWAP_TO_ENDPOINT" inspecti "$1" >/dev/null 2>&1 ;;
  esac
}
pull() {
  case "$KP_SWAP_TO_KIND" in
    containerd) ctr -n k8s.io images pull --hosts-dir /etc/containerd/certs.d "$1" ;;
    crio) crictl --runtime-endpoint "$KP_SWAP_TO_ENDPOINT" pull "$1" ;;
  esac
}
case "$KP_SWAP_TO_KIND" in
  containerd) kp_require_commands ctr ;;
  crio) kp_require_commands crictl ;;
esac
pulled=0
for image in "${images[@]}"; do
  if present "$image"; then continue; fi
  out=$(pull "$image" 2>&1) || kp_fail "cannot pull $image into $KP_SWAP_TO_DESCRIPTION: $(kp_cause "$out")"
  pulled=$((pulled + 1))
  KP_CHANGED+=("image:$image")
done
kp_swap_set STATUS prepulled
kp_say "${#images[@]} image(s) in $KP_SWAP_TO_DESCRIPTION, $pulled pulled now"
