# shellcheck shell=bash
# crictl on a containerd node: the pinned cri-tools release (its checksum verified before anything is
# unpacked) or a check that a preinstalled crictl is on PATH, and the owned crictl.yaml that points it
# at the pool's containerd. A failure after the first write restores what this run replaced
# (kp_rollback_files, the prelude's default).

binary=$KP_CRICTL_BINARY
verified=0
case "$KP_CRICTL_FROM" in
  release)
    # A receipt (receipt.sh) is written only once this binary reported the release asked for.
    if kp_receipt_current; then
      verified=1
      kp_say "crictl $KP_CRICTL_VERSION: installed as its receipt records; the release tarball was not read"
    else
      kp_download "$KP_CRICTL_URL" "$KP_CRICTL_CHECKSUM"
      mkdir -p "$KP_STAGE/crictl"
      tar -xzf "$KP_DOWNLOADED" -C "$KP_STAGE/crictl" crictl 2>>"$KP_LOG" || kp_fail "$KP_CRICTL_URL has no crictl: $(kp_cause "$(tail -n 1 "$KP_LOG")"); nothing was installed"
      kp_install_file "$KP_STAGE/crictl/crictl" "$binary" 0755 || true
    fi
    ;;
  preinstalled)
    binary=$(command -v crictl 2>/dev/null || true)
    [ -n "$binary" ] || kp_fail "crictl is not on PATH (crictl.from: preinstalled); install it or use from: release; nothing was installed"
    ;;
  *) kp_fail "unknown crictl source $KP_CRICTL_FROM" ;;
esac

kp_install_file "$(kp_staged "$KP_CRICTL_CONFIG")" "$KP_CRICTL_CONFIG" 0644 || true
kp_prune_owned

# The binary must run and be the release asked for; a bad one is rolled back.
if [ "$verified" = 0 ]; then
  reported=$("$binary" --version 2>&1 | head -n 1 || true)
  if [ -n "$KP_CRICTL_VERSION" ] && [[ $reported != *"v$KP_CRICTL_VERSION"* ]]; then
    kp_fail "$binary reports \"${reported:-nothing}\", not crictl v$KP_CRICTL_VERSION"
  fi
  kp_say "crictl: $reported"
fi
[ "$KP_CRICTL_FROM" != release ] || kp_receipt_write
