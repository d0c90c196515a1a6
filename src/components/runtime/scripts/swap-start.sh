# shellcheck shell=bash
# Runtime swap, phase 6: start the kubelet on the new runtime, wait until the node is Ready and
# reports it (status.nodeInfo.containerRuntimeVersion, refreshed after the kubelet's first status
# sync), then uncordon the node if it was schedulable before the swap. Closes the rollback window.
kp_swap_phase "needs: start the kubelet" repointed

systemctl daemon-reload
systemctl enable kubelet >>"$KP_LOG" 2>&1 || true
if systemctl is-active --quiet kubelet; then systemctl restart kubelet; else systemctl start kubelet; fi
KP_RESTARTED+=("kubelet")
kp_fault_point "started kubelet"
# A kubelet that cannot reach its runtime exits and systemd restarts it: active now is not enough.
restarts=$(systemctl show -p NRestarts --value kubelet)
sleep 3
if ! systemctl is-active --quiet kubelet || [ "$(systemctl show -p NRestarts --value kubelet)" != "$restarts" ]; then
  kp_fail "kubelet does not stay up on $KP_SWAP_TO_ENDPOINT: $(journalctl -u kubelet -n 3 --no-pager -o cat 2>/dev/null | tr '\n' ' ')"
fi

if ! reported=$(kp_wait_node_on "$KP_SWAP_TO_REPORTED" "$KP_SWAP_TO_VERSION"); then
  kp_fail "the node did not report Ready on $KP_SWAP_TO_REPORTED://$KP_SWAP_TO_VERSION within ${KP_SWAP_READY_TIMEOUT}s: $reported"
fi
if [ "$(kp_swap_get WAS_SCHEDULABLE)" = true ]; then
  out=$(kp_kubectl uncordon "$KP_NODE" 2>&1) || kp_fail "kubectl uncordon failed: $(kp_cause "$out")"
  KP_CHANGED+=("node:uncordoned")
  how=uncordoned
else
  how="left cordoned, as it was before the swap"
fi
rm -f "$KP_SWAP_WINDOW"
kp_swap_set STATUS "done" DONE_AT "$(date -u +%FT%TZ)"
kp_say "swapped $KP_SWAP_FROM_DESCRIPTION -> $reported, $how; the old runtime's data and $KP_SWAP_DIR/*.tar stay for a manual rollback"
