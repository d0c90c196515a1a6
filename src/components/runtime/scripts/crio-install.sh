# shellcheck shell=bash
# Installs CRI-O $KP_SERVICE_VERSION: from the upstream bundle (verified before anything is written),
# from a package repository the node already has, or checks a preinstalled one. Only the files
# kubeplug lists are taken from the bundle: its own install script would also overwrite
# /etc/crictl.yaml, CNI plugins in /opt/cni/bin and the bundle's crio.conf.d drop-in.
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
      kp_service_unpack_release "$KP_STAGE/bundle"
      for entry in "${KP_BUNDLE_FILES[@]}"; do
        IFS='|' read -r member _ _ <<<"$entry"
        [ -f "$KP_STAGE/bundle/$member" ] || kp_fail "$KP_RELEASE_URL has no $member; nothing was installed"
      done
      # shellcheck disable=SC2034 # kp_fail (prelude.sh) calls the hook
      KP_ROLLBACK_HOOK=kp_service_rollback
      binaries_changed=0
      for entry in "${KP_BUNDLE_FILES[@]}"; do
        IFS='|' read -r member dest mode <<<"$entry"
        if kp_install_file "$KP_STAGE/bundle/$member" "$dest" "$mode" kp_service_intend_restart_if_running; then binaries_changed=1; fi
      done
      # CRI-O refuses to pull without a signature policy; install upstream's default only where none exists.
      if [ ! -e /etc/containers/policy.json ]; then
        kp_install_file "$KP_STAGE/bundle/$KP_BUNDLE_POLICY" /etc/containers/policy.json 0644 || true
      fi
      kp_service_update "$binaries_changed"
    fi
    ;;
  preinstalled) ;;
  *) kp_fail "unknown install method $KP_INSTALL_FROM" ;;
esac

kp_service_installed "${installed:-$(crio_installed_version)}"
[ "$KP_INSTALL_FROM" != release ] || kp_receipt_write
