# shellcheck shell=bash
# Installs containerd $KP_CONTAINERD_VERSION. Runtime binaries come from the oci-runtimes step and the
# config from containerd-configure; this step only puts the daemon and its unit in place.
kp_require_commands systemctl

case "$KP_INSTALL_FROM" in
  package)
    kp_apt_install "$KP_PACKAGE" || true
    ;;
  release)
    kp_require_commands tar
    kp_download "$KP_RELEASE_URL" "$KP_RELEASE_CHECKSUM"
    mkdir -p "$KP_STAGE/release"
    tar -xzf "$KP_DOWNLOADED" -C "$KP_STAGE/release" 2>>"$KP_LOG" || kp_fail "cannot unpack $KP_RELEASE_URL; nothing was installed"
    [ -x "$KP_STAGE/release/bin/containerd" ] || kp_fail "$KP_RELEASE_URL has no bin/containerd; nothing was installed"
    # shellcheck disable=SC2034 # kp_fail (prelude.sh) calls the hook
    KP_ROLLBACK_HOOK=containerd_rollback
    binaries_changed=0
    for binary in "$KP_STAGE"/release/bin/*; do
      if kp_install_file "$binary" "$KP_PREFIX/bin/$(basename "$binary")" 0755; then binaries_changed=1; fi
    done
    if kp_install_file "$(kp_staged /etc/systemd/system/containerd.service)" /etc/systemd/system/containerd.service 0644; then
      systemctl daemon-reload
    fi
    # Running containerd keeps the old binary until it restarts; restart now so the version check below is true.
    if [ "$binaries_changed" = 1 ] && systemctl is-active --quiet containerd; then
      containerd_restart || kp_fail "containerd $KP_CONTAINERD_VERSION did not become healthy: $(containerd_journal_tail)"
    fi
    ;;
  preinstalled) ;;
  *) kp_fail "unknown install method $KP_INSTALL_FROM" ;;
esac

installed=$(containerd_installed_version)
[ -n "$installed" ] || kp_fail "containerd is not installed (install.from is $KP_INSTALL_FROM)"
[ "$installed" = "$KP_CONTAINERD_VERSION" ] ||
  kp_fail "containerd $installed is installed, but the stack says $KP_CONTAINERD_VERSION; the config would be rendered for the wrong version"

if ! systemctl is-enabled --quiet containerd 2>/dev/null; then
  systemctl enable containerd >>"$KP_LOG" 2>&1 || kp_fail "cannot enable containerd.service"
  KP_CHANGED+=("unit:containerd enabled")
  kp_say "enabled containerd.service"
fi
