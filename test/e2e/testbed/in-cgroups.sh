#!/bin/sh
# Runs COMMAND as a member of each given cgroup (a directory in a mounted hierarchy), by moving this
# shell there and then exec-ing, so COMMAND keeps the PID the caller recorded and forks inside them.
#
#   sh in-cgroups.sh CGROUP_DIR... -- COMMAND [ARG...]
set -eu
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
  echo "$$" >"$1/cgroup.procs"
  shift
done
[ "$#" -gt 1 ] || { echo "usage: in-cgroups.sh CGROUP_DIR... -- COMMAND [ARG...]" >&2; exit 64; }
shift
exec "$@"
