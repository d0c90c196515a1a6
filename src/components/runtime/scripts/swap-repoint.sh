# shellcheck shell=bash
# Runtime swap, phase 5: every place that sets the kubelet's CRI endpoint now names the new runtime,
# in precedence order (research §1): KUBELET_EXTRA_ARGS, kubeadm-flags.env, --config-dir drop-ins,
# config.yaml; then kubeadm's own memory of it (instance-config.yaml, the node annotation), so the
# next `kubeadm upgrade` does not revert it; and /etc/crictl.yaml. Flags the node's kubelet refuses
# leave kubeadm-flags.env (kubeadm strips them itself on upgrade), with the stack's swap.kubeletFlags.
kp_swap_phase "needs: repoint the kubelet" prepulled repointed

old=$(kp_swap_get OLD_ENDPOINT)
new=$KP_SWAP_TO_ENDPOINT
version=$(kp_swap_get KUBELET_VERSION)
set_anywhere=0

# Writes $2 (a staged copy) over $1 when they differ, keeping the file's mode.
kp_repoint_write() {
  local dest=$1 staged=$2 mode
  mode=$(stat -c %a "$dest" 2>/dev/null || echo 644)
  kp_replace_file "$staged" "$dest" "0$mode" || true
}

# Rewrites the value of flags in an env file line: --flag=old or --flag old becomes --flag=new.
kp_rewrite_flag() {
  sed -E "s#$1(=|[[:space:]]+)[^[:space:]\"']+#$1=$2#g"
}

for file in "$(kp_kubelet_defaults_file)" "$KP_KUBEADM_FLAGS"; do
  [ -f "$file" ] || continue
  staged="$KP_STAGE/repoint.env"
  cp -p "$file" "$staged"
  for flag in --container-runtime-endpoint --image-service-endpoint; do
    if grep -q -- "$flag" "$staged"; then
      kp_rewrite_flag "$flag" "$new" <"$staged" >"$staged.new" && mv -f "$staged.new" "$staged"
      set_anywhere=1
    fi
  done
  if [ "$file" = "$KP_KUBEADM_FLAGS" ]; then
    while IFS= read -r flag; do
      [ -n "$flag" ] || continue
      if grep -q -- "$flag" "$staged"; then
        sed -E "s#[[:space:]]*$flag(=|[[:space:]]+)[^[:space:]\"']+##g; s#\"[[:space:]]+#\"#" "$staged" >"$staged.new" && mv -f "$staged.new" "$staged"
        kp_say "dropped $flag from $file: kubelet $version refuses it"
      fi
    done < <(kp_refused_flags "$version"; printf '%s\n' "${KP_SWAP_REMOVE_FLAGS[@]}")
    for pair in "${KP_SWAP_SET_FLAGS[@]}"; do
      flag=${pair%%=*}
      if grep -q -- "$flag" "$staged"; then
        kp_rewrite_flag "$flag" "${pair#*=}" <"$staged" >"$staged.new" && mv -f "$staged.new" "$staged"
      else
        sed -E "s#^(KUBELET_KUBEADM_ARGS=\"?)#\\1$pair #" "$staged" >"$staged.new" && mv -f "$staged.new" "$staged"
      fi
    done
  fi
  kp_repoint_write "$file" "$staged"
done

# A config YAML's top-level key gets the new value where it is set.
kp_rewrite_yaml() {
  local file=$1 key staged="$KP_STAGE/repoint.yaml" changed=1
  cp -p "$file" "$staged"
  for key in containerRuntimeEndpoint imageServiceEndpoint; do
    if grep -q "^$key:" "$staged"; then
      sed -E "s#^$key:.*#$key: \"$new\"#" "$staged" >"$staged.new" && mv -f "$staged.new" "$staged"
      changed=0
    fi
  done
  kp_repoint_write "$file" "$staged"
  return "$changed"
}

while IFS= read -r dropin; do
  if kp_rewrite_yaml "$dropin"; then set_anywhere=1; fi
done < <(kp_kubelet_dropins)
config=$(kp_kubelet_config_file)
if [ -n "$config" ] && [ -f "$config" ]; then
  if kp_rewrite_yaml "$config"; then
    set_anywhere=1
  elif [ "$set_anywhere" = 0 ] && [ "$new" != "$KP_SWAP_KUBELET_DEFAULT_ENDPOINT" ]; then
    # Nothing set it: the kubelet used its built-in default, which is not the new runtime.
    staged="$KP_STAGE/repoint.yaml"
    { cat "$config"; printf 'containerRuntimeEndpoint: "%s"\n' "$new"; } >"$staged"
    kp_repoint_write "$config" "$staged"
  fi
fi

# kubeadm 1.34+ reads the socket from instance-config.yaml (research §1.2): kept current where it exists, created from 1.34.
if [ -f "$KP_INSTANCE_CONFIG" ] || { [ -n "$version" ] && kp_version_at_least "$version" 1.34; }; then
  printf 'containerRuntimeEndpoint: "%s"\n' "$new" >"$KP_STAGE/instance-config.yaml"
  kp_repoint_write "$KP_INSTANCE_CONFIG" "$KP_STAGE/instance-config.yaml"
fi

annotation=$(kp_swap_get ANNOTATION)
if [ -n "$annotation" ] && [ "$annotation" != "<none>" ]; then
  current=$(kp_node_field "{.metadata.annotations.kubeadm\.alpha\.kubernetes\.io/cri-socket}" 2>/dev/null || true)
  if [ "$current" != "$new" ]; then
    out=$(kp_kubectl annotate node "$KP_NODE" --overwrite "$KP_CRI_SOCKET_ANNOTATION=$new" 2>&1) || kp_fail "cannot set the node's $KP_CRI_SOCKET_ANNOTATION annotation: $(kp_cause "$out")"
    KP_CHANGED+=("annotation:$KP_CRI_SOCKET_ANNOTATION")
    kp_say "annotation $KP_CRI_SOCKET_ANNOTATION: $annotation -> $new"
  fi
fi

if [ -f /etc/crictl.yaml ] && ! grep -q "runtime-endpoint: $new\$" /etc/crictl.yaml; then
  sed -E "s#^(runtime-endpoint|image-endpoint):.*#\\1: $new#" /etc/crictl.yaml >"$KP_STAGE/crictl.yaml"
  kp_repoint_write /etc/crictl.yaml "$KP_STAGE/crictl.yaml"
fi

endpoint=$(kp_kubelet_endpoint)
[ "$endpoint" = "$new" ] || kp_fail "after repointing, the kubelet would still use $endpoint (was $old); see $KP_LOG"
kp_swap_set STATUS repointed
kp_say "the kubelet now points at $new (was $old)"
