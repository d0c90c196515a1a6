# shellcheck shell=bash
# Installs the low-level runtimes the node's handlers run: distro packages, pinned release binaries
# (checksum verified before anything is written), or checks that preinstalled binaries are there.
# Release entries are "url|checksum|destination|member": member is empty for a plain binary, a path
# inside the archive for one file of it, or "/" to unpack the whole archive at the destination.
# A failure after the first install (a check below, a full disk) restores every file this run
# replaced or removes the ones it created (the prelude's kp_rollback_files); packages stay installed.

# VM runtimes fail only when the first pod starts; say so now, before anything is installed.
if [ "${#KP_KVM_HANDLERS[@]}" -gt 0 ] && [ ! -c /dev/kvm ]; then
  kp_fail "runtime handler(s) ${KP_KVM_HANDLERS[*]} need hardware virtualization, but /dev/kvm is missing on this node (bare metal or nested virtualization with the kvm module); nothing was installed"
fi

# Download and verify everything first, so a bad checksum leaves the node untouched.
downloaded=()
for entry in "${KP_RELEASES[@]}"; do
  IFS='|' read -r url checksum _ _ <<<"$entry"
  kp_download "$url" "$checksum"
  downloaded+=("$KP_DOWNLOADED")
done

# Packages include the tools the archives need (zstd for Kata's .tar.zst).
if [ "${#KP_PACKAGES[@]}" -gt 0 ]; then
  kp_apt_install "${KP_PACKAGES[@]}" || true
fi

i=0
for entry in "${KP_RELEASES[@]}"; do
  IFS='|' read -r url _ dest member <<<"$entry"
  file=${downloaded[$i]}
  i=$((i + 1))
  case "$member" in
    "")
      kp_install_file "$file" "$dest" 0755 || true
      ;;
    /)
      unpacked="$KP_STAGE/unpack-$i"
      mkdir -p "$unpacked"
      tar -xaf "$file" -C "$unpacked" 2>>"$KP_LOG" || kp_fail "cannot unpack $url: $(tail -n 1 "$KP_LOG")"
      while IFS= read -r -d '' item; do
        relative=${item#"$unpacked"/}
        kp_install_file "$item" "${dest%/}/$relative" "$(stat -c %a "$item")" || true
      done < <(find "$unpacked" -type f -print0 | sort -z)
      ;;
    *)
      unpacked="$KP_STAGE/unpack-$i"
      mkdir -p "$unpacked"
      tar -xaf "$file" -C "$unpacked" "$member" 2>>"$KP_LOG" || kp_fail "cannot unpack $member from $url: $(tail -n 1 "$KP_LOG")"
      kp_install_file "$unpacked/$member" "$dest" 0755 || true
      ;;
  esac
done

for entry in "${KP_REQUIRED_BINARIES[@]}"; do
  [ -x "${entry#*=}" ] || kp_fail "runtime handler ${entry%%=*} needs ${entry#*=}, which is not there"
done

# An engine older than the CRI runtime needs fails only when a pod starts; say so now.
for entry in "${KP_MIN_VERSIONS[@]}"; do
  IFS='=' read -r name binary min <<<"$entry"
  version=$("$binary" --version 2>/dev/null | head -n 1 | grep -oE '[0-9]+\.[0-9]+(\.[0-9]+)?' | head -n 1 || true)
  if [ -z "$version" ] || [ "$(printf '%s\n%s\n' "$min" "$version" | sort -V | head -n 1)" != "$min" ]; then
    kp_fail "runtime handler $name: $binary is version ${version:-unknown}, older than $min, which this containerd needs (it writes a runtime spec older versions refuse); install a newer one (install.from: release)"
  fi
done
