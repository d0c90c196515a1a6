# shellcheck shell=bash
# Installs the wanted CNI reference plugins into $KP_CNI_BIN_DIR and removes the ones kubeplug
# installed before and no longer wants. Binaries kubeplug does not own are never touched.
# A failure after the first install (a full disk) puts every binary back as it was
# (kp_rollback_files); the package, with install.from: package, stays installed. A release install
# whose receipt is current (receipt.sh: the same release, the same plugins, each binary as installed)
# reads no tarball.
cni_install_plugins() {
  local source_dir=""
  case "$KP_INSTALL_FROM" in
    release)
      kp_require_commands tar
      kp_download "$KP_RELEASE_URL" "$KP_RELEASE_CHECKSUM"
      source_dir="$KP_STAGE/plugins"
      mkdir -p "$source_dir"
      tar -xzf "$KP_DOWNLOADED" -C "$source_dir" 2>>"$KP_LOG" || kp_fail "cannot unpack $KP_RELEASE_URL; nothing was installed"
      ;;
    package)
      kp_apt_install "$KP_PACKAGE" || true
      source_dir=$KP_PACKAGE_DIR
      ;;
    none) ;;
    *) kp_fail "unknown install method $KP_INSTALL_FROM" ;;
  esac

  # Check the whole set first, so a tarball or package without one of them leaves the node untouched.
  local plugin
  for plugin in "${KP_WANTED[@]}"; do
    [ -f "$source_dir/$plugin" ] || kp_fail "plugin $plugin is not in $KP_INSTALL_FROM source ${KP_RELEASE_URL:-$source_dir}; nothing was installed"
  done
  for plugin in "${KP_WANTED[@]}"; do
    kp_install_file "$source_dir/$plugin" "$KP_CNI_BIN_DIR/$plugin" 0755 || true
  done
}

if [ "$KP_INSTALL_FROM" = release ] && kp_receipt_current; then
  kp_say "CNI plugins: installed as their receipt records; the release tarball was not read"
else
  cni_install_plugins
fi
kp_prune_owned
[ "$KP_INSTALL_FROM" != release ] || kp_receipt_write
