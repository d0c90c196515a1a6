# shellcheck shell=bash
# Installs the NVIDIA Container Toolkit for the pool's nvidia handlers from the apt repository the stack names,
# with its own key (Signed-By), after checking that the node has the NVIDIA driver loaded: the driver is the
# node's (kubeplug does not install it), and without it every GPU pod would fail only when it starts.
# A failure after the first write restores the source and key files (the prelude's kp_rollback_files); a package
# that was installed stays, and is named.

if [ ! -r "$KP_NVIDIA_DRIVER_PROC" ]; then
  kp_fail "node $KP_NODE has no NVIDIA driver loaded ($KP_NVIDIA_DRIVER_PROC is missing), which runtime handler(s) ${KP_NVIDIA_HANDLERS[*]} need; install the NVIDIA driver on $KP_NODE (kubeplug does not), or move the node to a pool without nvidia handlers; nothing was installed"
fi
kp_say "NVIDIA driver on $KP_NODE: $(head -n 1 "$KP_NVIDIA_DRIVER_PROC")"

# apt reads every file in sources.list.d: temp files and backups go beside the directory, not into it.
# shellcheck disable=SC2034 # kp_aside (prelude.sh) reads it
KP_WHOLE_DIRS=(/etc/apt/sources.list.d)
for path in "${KP_APT_FILES[@]}"; do
  kp_install_file "$(kp_staged "$path")" "$path" 0644 || true
done

# kp_apt_install runs apt-get update when the first install fails, as it does right after a new source.
if [ "${#KP_PACKAGES[@]}" -gt 0 ]; then
  kp_apt_install "${KP_PACKAGES[@]}" || true
fi

for entry in "${KP_REQUIRED_BINARIES[@]}"; do
  [ -x "${entry#*=}" ] || kp_fail "runtime handler ${entry%%=*} needs ${entry#*=}, which is not there"
done
