# shellcheck shell=bash
# Runtime swap, phase 2: cordon and drain with kubectl (PodDisruptionBudgets respected, DaemonSet
# pods stay). A failed drain leaves the node cordoned (research §3.3), so it is uncordoned again when
# it was schedulable before the swap, and the swap stops here: later waves never start.
kp_swap_phase "ran: already drained" planned draining
if [ "$(kp_swap_status)" = planned ]; then
  # Read again now: the wave may start long after preflight, and whoever cordoned the node meanwhile meant it.
  unschedulable=$(kp_node_field '{.spec.unschedulable}' 2>&1) || kp_fail "kubectl get node $KP_NODE failed: $(kp_cause "$unschedulable"); nothing was changed"
  kp_swap_set STATUS draining WAS_SCHEDULABLE "$([ "$unschedulable" = true ] && echo false || echo true)"
  if [ "$KP_SWAP_PAUSE" -gt 0 ]; then
    kp_say "pausing ${KP_SWAP_PAUSE}s before wave $KP_SWAP_WAVE (swap.pauseSeconds)"
    sleep "$KP_SWAP_PAUSE"
  fi
fi
kp_say "draining: kubectl drain $KP_NODE ${KP_SWAP_DRAIN_FLAGS[*]}"
if ! out=$(kp_kubectl drain "$KP_NODE" "${KP_SWAP_DRAIN_FLAGS[@]}" 2>&1); then
  printf '%s\n' "$out" >>"$KP_LOG"
  undo="left cordoned, as it was before the swap"
  if [ "$(kp_swap_get WAS_SCHEDULABLE)" = true ]; then
    if kp_kubectl uncordon "$KP_NODE" >>"$KP_LOG" 2>&1; then undo="uncordoned again"; else undo="left CORDONED: kubectl uncordon failed too"; fi
  fi
  kp_swap_set STATUS planned CAUSE "drain failed"
  if grep -q "disruption budget" <<<"$out"; then
    pods=$(grep -o 'evicting pods/"[^"]*" -n "[^"]*"' <<<"$out" | sed 's/evicting pods\/"\([^"]*\)" -n "\([^"]*\)"/\2\/\1/' | sort -u | paste -sd ' ' -)
    kp_fail "drain did not finish within ${KP_SWAP_DRAIN_TIMEOUT}s: a PodDisruptionBudget allowed no eviction of ${pods:-a pod}; the node was $undo, its runtime is unchanged, and no later wave starts"
  fi
  kp_fail "drain failed: $(grep -m 1 '^error' <<<"$out" || kp_cause "$out"); the node was $undo, its runtime is unchanged, and no later wave starts"
fi
printf '%s\n' "$out" >>"$KP_LOG"
kp_swap_set STATUS drained
KP_CHANGED+=("node:cordoned+drained")
kp_say "drained: $(tail -n 1 <<<"$out")"
