# shellcheck shell=bash
# Installs containerd $KP_SERVICE_VERSION. Runtime binaries come from the oci-runtimes step and the
# config from containerd-configure; this step only puts the daemon and its unit in place.
kp_require_commands systemctl

installed=
case "$KP_INSTALL_FROM" in
  package)
    kp_apt_install "$KP_PACKAGE" || true
    ;;
  release)
    if kp_service_receipt_current; then
      # The receipt was written only after this binary reported the version, and its bytes are unchanged.
      installed=$KP_SERVICE_VERSION
    else
      kp_service_unpack_release "$KP_STAGE/release"
      [ -x "$KP_STAGE/release/bin/containerd" ] || kp_fail "$KP_RELEASE_URL has no bin/containerd; nothing was installed"
      # shellcheck disable=SC2034 # kp_fail (prelude.sh) calls the hook
      KP_ROLLBACK_HOOK=kp_service_rollback
      binaries_changed=0
      for binary in "$KP_STAGE"/release/bin/*; do
        if kp_install_file "$binary" "$KP_PREFIX/bin/$(basename "$binary")" 0755 kp_service_intend_restart_if_running; then binaries_changed=1; fi
      done
      kp_service_update "$binaries_changed"
    fi
    ;;
  preinstalled) ;;
  *) kp_fail "unknown install method $KP_INSTALL_FROM" ;;
esac

kp_service_installed "${installed:-$(containerd_installed_version)}"
[ "$KP_INSTALL_FROM" != release ] || kp_receipt_write
