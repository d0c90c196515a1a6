# shellcheck shell=bash
# containerd helpers shared by the install and configure steps.

# Prints the X.Y.Z of the installed containerd ("1.6.20~ds1" and "v2.1.9" both give their X.Y.Z).
containerd_installed_version() {
  command -v containerd >/dev/null 2>&1 || return 0
  containerd --version 2>/dev/null | awk '{ print $3 }' | sed -E 's/^v//; s/^([0-9]+\.[0-9]+\.[0-9]+).*/\1/'
}

# Checks a config file with the containerd on PATH before anything is written. Parsing is not enough:
# containerd 1.6 reads a `version = 3` file without an error and silently uses version 2 defaults, so
# the version the binary reports back must be the one the file was rendered for. On failure prints
# what is wrong and returns 1.
containerd_check_config() {
  local file=$1 want=$2 dumped
  if ! containerd --config "$file" config dump >"$KP_STAGE/dump.toml" 2>"$KP_STAGE/dump.err"; then
    echo "rejects the config: $(grep -v 'level=info' "$KP_STAGE/dump.err" | tail -n 2 | tr '\n' ' ')"
    return 1
  fi
  dumped=$(sed -n 's/^version = \([0-9]*\)$/\1/p' "$KP_STAGE/dump.toml")
  if [ "$dumped" != "$want" ]; then
    echo "reads config version ${dumped:-none}, not the version $want it was rendered for"
    return 1
  fi
}

# Healthy = the unit is active, the socket answers, and the CRI plugin loaded.
containerd_healthy() {
  systemctl is-active --quiet containerd || return 1
  ctr --address "$KP_CONTAINERD_ADDRESS" version >/dev/null 2>&1 || return 1
  ctr --address "$KP_CONTAINERD_ADDRESS" plugins ls 2>/dev/null |
    awk '$1 == "io.containerd.grpc.v1" && $2 == "cri" { print $NF }' | grep -qx ok
}
