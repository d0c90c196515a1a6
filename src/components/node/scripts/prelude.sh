# shellcheck shell=bash
# Shared by every kubeplug node step. The step header sets KP_NODE, KP_STEP and KP_ARCH before this.
#
# The contract: a second run on a converged node writes nothing and restarts nothing; every write is
# atomic and verified (temp file in the same directory, complete and flushed, then renamed); configs
# are validated before anything restarts; the previous file is kept as <file>.kubeplug.bak and
# restored when anything fails after the first write.

# Byte order for every sort and comparison: runtimes pick files in /etc/cni/net.d by bytewise order.
export LC_ALL=C
KP_STATE_DIR=/var/lib/kubeplug
KP_RUN_DIR=/run/kubeplug
KP_LOG_DIR=/var/log/kubeplug
KP_LOG=/dev/null
KP_STAGE=
KP_CHANGED=()
KP_CREATED=()
KP_RESTARTED=()
KP_SKIPPED=()
KP_OWNED=()
# sha256 by path of owned files whose bytes this run already knows (an install receipt's), so
# kp_record_owned does not hash them again.
declare -A KP_KNOWN_SHA=()
KP_CREDENTIAL_FILES=()
# Every step that installs files rolls back by default; the daemon steps set kp_service_rollback.
KP_ROLLBACK_HOOK=kp_rollback_files
KP_FAILING=0
KP_DOWNLOADED=
KP_SECRET_FILE=
# Directories whose daemon reads every file in them, whatever its name (CRI-O's crio.conf.d): temp
# files and backups of files there are kept in a sibling directory instead (see kp_aside).
KP_WHOLE_DIRS=()
# TEST-ONLY fault injection, see kp_fault_load.
KP_FAULT_AT=
KP_FAULT_ACTION=
KP_FAULT_COUNT=0

kp_log_line() {
  printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$KP_LOG" 2>/dev/null || true
}

# Progress goes to stdout; writes are allowed to fail because the SSH session may be gone.
kp_say() {
  printf 'kubeplug[%s/%s]: %s\n' "$KP_NODE" "$KP_STEP" "$*" 2>/dev/null || true
  kp_log_line "$*"
}

kp_warn() {
  kp_say "warning: $*"
}

# Something the step could not do on this node and did not fail for (the node lacks it, and the step
# says why): printed now and listed in the result's "skipped".
kp_skip() {
  KP_SKIPPED+=("$*")
  kp_say "not done: $*"
}

# Fails the step with a message naming the node and the step, after running the step's rollback.
# In a subshell (a command or process substitution, a pipeline part; set -E hands them the ERR trap)
# it only hands the message to the step's own shell: a rollback run from there would undo the node
# while the step went on, as a process substitution's failure never stops its reader.
kp_fail() {
  if [ "$BASHPID" != "$$" ]; then
    printf '%s\n' "$*" >"${KP_STAGE:-$KP_RUN_DIR}/subshell-failure" 2>/dev/null || true
    kill -USR1 "$$" 2>/dev/null || true
    exit 1
  fi
  printf 'kubeplug[%s/%s]: error: %s\n' "$KP_NODE" "$KP_STEP" "$*" >&2 2>/dev/null || true
  kp_log_line "error: $*"
  if [ "$KP_FAILING" = 0 ] && [ -n "$KP_ROLLBACK_HOOK" ]; then
    KP_FAILING=1
    "$KP_ROLLBACK_HOOK" || kp_log_line "rollback hook failed"
    kp_swap_failed "$*"
  fi
  exit 1
}

# While a runtime swap has the node between runtimes (swap-stop-old to swap-start), any failing step
# (a swap phase, or the new runtime's install or configure) takes the node back to its old runtime
# with the rollback script the swap's preflight left (runtime-swap.ts, swap-lib.sh).
kp_swap_failed() {
  local rollback="$KP_STATE_DIR/swap/rollback.sh"
  [ -f "$KP_STATE_DIR/swap/window-open" ] && [ -x "$rollback" ] || return 0
  "$rollback" "$KP_STEP" "$1" || kp_log_line "swap rollback failed"
}

kp_on_err() {
  kp_fail "command failed (line $1, exit $2): $3"
}

kp_begin() {
  # A dropped SSH session must not kill a step halfway: finish (or roll back) and report in the log.
  trap '' HUP PIPE
  trap 'kp_on_err "$LINENO" "$?" "$BASH_COMMAND"' ERR
  trap 'kp_fail "$(cat "${KP_STAGE:-$KP_RUN_DIR}/subshell-failure" 2>/dev/null || echo "a subshell of the step failed")"' USR1
  [ "$(id -u)" = 0 ] || kp_fail "must run as root (the login user needs passwordless sudo)"
  mkdir -p "$KP_STATE_DIR/owned" "$KP_LOG_DIR" "$KP_RUN_DIR"
  chmod 0700 "$KP_STATE_DIR" "$KP_RUN_DIR"
  KP_LOG="$KP_LOG_DIR/$KP_STEP.log"
  exec 9>"$KP_RUN_DIR/node.lock"
  flock -w 900 9 || kp_fail "another kubeplug step held $KP_RUN_DIR/node.lock for 15 minutes"
  kp_clean_stale_stages
  KP_STAGE=$(mktemp -d "$KP_RUN_DIR/stage.XXXXXX")
  trap 'rm -rf "$KP_STAGE"' EXIT
  kp_log_line "begin step $KP_STEP (script $KP_SCRIPT_HASH)"
  kp_fault_load
  kp_check_arch
}

# A step that was killed (SIGKILL, power loss) never ran its EXIT trap: its staging directory, with
# the rendered files and any secret payload, is still in $KP_RUN_DIR. Under the lock no other step
# is running, so every stage directory there is stale.
kp_clean_stale_stages() {
  local stale
  for stale in "$KP_RUN_DIR"/stage.*; do
    [ -d "$stale" ] || continue
    rm -rf "$stale"
    kp_say "removed $stale (left by a step that was killed)"
  done
}

# TEST-ONLY fault injection, for the e2e fault tests (test/e2e/faults.e2e.test.ts). Production nodes
# never have $KP_RUN_DIR/fault-injection (a tmpfs, so not even across a reboot): then this reads one
# missing file per run and every kp_fault_point returns at once. A test writes "STEP N ACTION" into
# it: the Nth fault point of step STEP (after each file write, before each restart or reload) does
# ACTION, "kill" (SIGKILL of the step itself, as a power loss would stop it) or "fail" (kp_fail,
# which runs the rollback). The file is used once: removed when it fires, or when the step ends first.
# What happened is written to $KP_RUN_DIR/fault-fired: "fired N POINT", or "passed COUNT" (the step
# had only COUNT fault points).
kp_fault_load() {
  local file="$KP_RUN_DIR/fault-injection" step at action
  [ -f "$file" ] || return 0
  read -r step at action <"$file" || true
  [ "$step" = "$KP_STEP" ] || return 0
  rm -f "$KP_RUN_DIR/fault-fired"
  KP_FAULT_AT=$at
  KP_FAULT_ACTION=$action
}

kp_fault_point() {
  [ -n "$KP_FAULT_AT" ] || return 0
  KP_FAULT_COUNT=$((KP_FAULT_COUNT + 1))
  [ "$KP_FAULT_COUNT" = "$KP_FAULT_AT" ] || return 0
  printf 'fired %s %s\n' "$KP_FAULT_COUNT" "$1" >"$KP_RUN_DIR/fault-fired"
  rm -f "$KP_RUN_DIR/fault-injection"
  KP_FAULT_AT=
  kp_log_line "test fault injection: $KP_FAULT_ACTION at fault point $KP_FAULT_COUNT ($1)"
  case "$KP_FAULT_ACTION" in
    kill) kill -KILL $$ ;;
    *) kp_fail "injected test fault at fault point $KP_FAULT_COUNT ($1)" ;;
  esac
}

kp_check_arch() {
  local machine want
  machine=$(uname -m)
  case "$machine" in
    x86_64) want=amd64 ;;
    aarch64 | arm64) want=arm64 ;;
    *) want=$machine ;;
  esac
  [ "$want" = "$KP_ARCH" ] || kp_fail "node reports architecture $machine ($want) but the stack says $KP_ARCH"
}

kp_require_commands() {
  local missing=() cmd
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
  done
  [ "${#missing[@]}" = 0 ] || kp_fail "missing commands on the node: ${missing[*]}"
}

# kp_stage_file DEST MODE < content: keeps the rendered file in the stage dir until the step installs it.
kp_stage_file() {
  local staged="$KP_STAGE/files$1"
  mkdir -p "$(dirname "$staged")"
  cat >"$staged"
  chmod "$2" "$staged"
}

kp_staged() {
  printf '%s' "$KP_STAGE/files$1"
}

# Reads the step's secret payload from stdin into KP_SECRET_FILE, mode 0600, in the stage dir (tmpfs).
kp_read_secret() {
  KP_SECRET_FILE="$KP_STAGE/secret"
  (umask 077 && cat >"$KP_SECRET_FILE")
}

kp_sha256() {
  if [ -f "$1" ]; then sha256sum "$1" | cut -d' ' -f1; fi
}

# kp_same_file SRC DEST MODE: DEST already has SRC's bytes and the wanted mode (octal, e.g. 0644).
kp_same_file() {
  [ -f "$2" ] && cmp -s "$1" "$2" && [ "$(stat -c %a "$2")" = "$(printf '%o' "$((8#$3))")" ]
}

# The cause at the end of an error message: "No space left on device" from
# "cp: error writing '/etc/containerd/config.toml.kubeplug.new': No space left on device".
kp_cause() {
  local last
  last=$(printf '%s\n' "$1" | sed '/^[[:space:]]*$/d' | tail -n 1)
  [ -n "$last" ] || last="unknown error"
  printf '%s' "${last##*: }"
}

# kp_aside DEST KIND: the path of DEST's temp file (KIND new) or backup (KIND bak). Beside DEST, except
# in a directory of KP_WHOLE_DIRS, whose daemon would read them as config: there they go to the
# sibling directory .kubeplug-<dir> (same filesystem, so the rename stays atomic).
kp_aside() {
  local dir=${1%/*} whole
  for whole in "${KP_WHOLE_DIRS[@]}"; do
    if [ "$dir" = "$whole" ]; then
      printf '%s/.kubeplug-%s/%s.kubeplug.%s' "${whole%/*}" "${whole##*/}" "${1##*/}" "$2"
      return 0
    fi
  done
  printf '%s.kubeplug.%s' "$1" "$2"
}

kp_unchanged_note() {
  if [ -e "$1" ]; then printf 'the previous %s is unchanged' "$1"; else printf '%s was not created' "$1"; fi
}

# kp_write_verified SRC TMP MODE DEST: copies SRC to TMP, the temp file of DEST, and makes sure the copy
# is complete (its sha256 is SRC's) and flushed to disk before anyone renames it into place; otherwise
# removes TMP and fails with the path and the cause (a full filesystem: "No space left on device").
# Every command is checked explicitly: callers run kp_install_file inside `if`, where errexit is off.
kp_write_verified() {
  local src=$1 tmp=$2 mode=$3 dest=$4 err want got
  if ! err=$({ mkdir -p "${dest%/*}" "${tmp%/*}" && cp "$src" "$tmp" && chmod "$mode" "$tmp" && sync "$tmp"; } 2>&1); then
    rm -f "$tmp"
    kp_fail "cannot write $dest: $(kp_cause "$err"); $(kp_unchanged_note "$dest")"
  fi
  want=$(kp_sha256 "$src")
  got=$(kp_sha256 "$tmp")
  if [ "$got" != "$want" ]; then
    rm -f "$tmp"
    kp_fail "cannot write $dest: the written copy (sha256 ${got:-none}) is not the staged file (sha256 $want); $(kp_unchanged_note "$dest")"
  fi
}

# kp_keep_backup DEST BAK TMP: keeps DEST's current version as BAK: a hard link, which needs no space
# and stays on the old file once the new one is renamed over DEST; a verified copy where links fail.
kp_keep_backup() {
  local dest=$1 bak=$2 tmp=$3 err
  if err=$({ mkdir -p "${bak%/*}" && ln -f "$dest" "$bak"; } 2>&1); then return 0; fi
  if err=$({ cp -p "$dest" "$bak" && sync "$bak"; } 2>&1) && cmp -s "$dest" "$bak"; then return 0; fi
  rm -f "$bak" "$tmp"
  kp_fail "cannot keep the previous $dest as $bak: $(kp_cause "$err"); $(kp_unchanged_note "$dest")"
}

# kp_install_file SRC DEST MODE [INTENT]: kp_replace_file for a file the step owns (kp_prune_owned
# retires it once the stack no longer renders it).
kp_install_file() {
  KP_OWNED+=("$2")
  kp_replace_file "$@"
}

# kp_replace_file SRC DEST MODE [INTENT]: atomic, verified replace with a backup. Returns 0 if DEST
# changed, 1 if not. INTENT is a command run with DEST once the new copy is complete and on disk, just
# before it becomes visible: the daemon steps record a pending restart there, so a step killed right
# after the rename still restarts the daemon on its next run.
kp_replace_file() {
  local src=$1 dest=$2 mode=$3 intent=${4:-} tmp bak err
  tmp=$(kp_aside "$dest" new)
  bak=$(kp_aside "$dest" bak)
  if kp_same_file "$src" "$dest" "$mode"; then
    # A temp file is left only by a step that was killed before its rename.
    if [ -e "$tmp" ]; then rm -f "$tmp"; fi
    kp_say "unchanged $dest"
    return 1
  fi
  kp_note_foreign_edit "$dest"
  kp_write_verified "$src" "$tmp" "$mode" "$dest"
  if [ -e "$dest" ]; then
    kp_keep_backup "$dest" "$bak" "$tmp"
  else
    KP_CREATED+=("$dest")
  fi
  if [ -n "$intent" ]; then "$intent" "$dest"; fi
  if ! err=$(mv -f "$tmp" "$dest" 2>&1); then
    rm -f "$tmp"
    kp_fail "cannot write $dest: $(kp_cause "$err"); $(kp_unchanged_note "$dest")"
  fi
  # The rename itself survives a power loss once the directory is on disk.
  sync "${dest%/*}" 2>/dev/null || true
  KP_CHANGED+=("$dest")
  unset 'KP_KNOWN_SHA[$dest]'
  kp_say "wrote $dest"
  kp_fault_point "wrote $dest"
  return 0
}

# Warns when a file kubeplug owns was edited by someone else since kubeplug last wrote it.
kp_note_foreign_edit() {
  local dest=$1 recorded current
  [ -f "$dest" ] || return 0
  recorded=$(kp_recorded_hash "$dest")
  [ -n "$recorded" ] || return 0
  current=$(kp_sha256 "$dest")
  if [ "$recorded" != "$current" ]; then
    kp_warn "$dest was changed outside kubeplug since the last apply; replacing it (the edited copy is kept as $(kp_aside "$dest" bak))"
  fi
}

kp_owned_list() {
  printf '%s' "$KP_STATE_DIR/owned/$KP_STEP.list"
}

kp_recorded_hash() {
  local list
  list=$(kp_owned_list)
  [ -f "$list" ] || return 0
  awk -v p="$1" '$2 == p { print $1 }' "$list"
}

# Puts back every file this run changed: the backup where there was one, nothing where there was none.
# Packages stay as installed: apt cannot put back a previous version without its .deb, and removing
# a package could remove what depends on it.
kp_restore_changed() {
  local dest created c bak
  for dest in "${KP_CHANGED[@]}"; do
    case "$dest" in
      /*) ;;
      *)
        kp_say "not rolled back: $dest"
        continue
        ;;
    esac
    created=0
    for c in "${KP_CREATED[@]}"; do [ "$c" = "$dest" ] && created=1; done
    bak=$(kp_aside "$dest" bak)
    if [ "$created" = 1 ]; then
      if rm -f "$dest"; then kp_say "removed $dest (it did not exist before this run)"; else kp_say "could not remove $dest"; fi
    elif [ -f "$bak" ]; then
      if mv -f "$bak" "$dest"; then kp_say "restored previous $dest"; else kp_say "could not restore $dest from $bak"; fi
    fi
    sync "${dest%/*}" 2>/dev/null || true
  done
}

# The rollback of every step that installs files (kp_service_rollback extends it for the daemons).
kp_rollback_files() {
  local files=0 dest
  for dest in "${KP_CHANGED[@]}"; do [[ $dest == /* ]] && files=1; done
  [ "${#KP_CHANGED[@]}" -gt 0 ] || return 0
  kp_restore_changed
  [ "$files" = 0 ] || kp_say "rolled back: the files this run changed are as they were before it"
}

# Retires files an earlier run owned that the stack no longer renders, unless someone edited them.
# The file moves to its backup (<file>.kubeplug.bak), so a rollback in the same run can put it back.
kp_prune_owned() {
  local list path recorded current keep owned bak err
  list=$(kp_owned_list)
  [ -f "$list" ] || return 0
  while read -r recorded path; do
    [ -n "$path" ] || continue
    keep=0
    for owned in "${KP_OWNED[@]}"; do [ "$owned" = "$path" ] && keep=1; done
    [ "$keep" = 0 ] || continue
    [ -f "$path" ] || continue
    current=$(kp_sha256 "$path")
    if [ "$current" = "$recorded" ]; then
      bak=$(kp_aside "$path" bak)
      err=$({ mkdir -p "${bak%/*}" && mv -f "$path" "$bak"; } 2>&1) || kp_fail "cannot move $path aside to $bak: $(kp_cause "$err")"
      sync "${path%/*}" 2>/dev/null || true
      KP_CHANGED+=("$path")
      kp_say "removed $path (no longer in the stack; kept as $bak)"
      kp_fault_point "removed $path"
    else
      kp_warn "left $path in place: no longer in the stack, but changed since kubeplug wrote it"
    fi
  done <"$list"
}

kp_record_owned() {
  local list staged path
  local -A written=()
  list=$(kp_owned_list)
  staged="$KP_STAGE/owned.list"
  : >"$staged"
  for path in "${KP_OWNED[@]}"; do
    # A converged run adds the files its install receipt lists, and then installs the rendered ones again.
    [ -z "${written[$path]:-}" ] || continue
    written[$path]=1
    if [ -f "$path" ]; then printf '%s %s\n' "${KP_KNOWN_SHA[$path]:-$(kp_sha256 "$path")}" "$path" >>"$staged"; fi
  done
  if [ -f "$list" ] && cmp -s "$staged" "$list"; then return 0; fi
  kp_write_verified "$staged" "$list.kubeplug.new" 0644 "$list"
  mv -f "$list.kubeplug.new" "$list"
  sync "${list%/*}" 2>/dev/null || true
}

kp_was_changed() {
  local path
  for path in "${KP_CHANGED[@]}"; do [ "$path" = "$1" ] && return 0; done
  return 1
}

# kp_wait SECONDS CMD...: polls CMD every half second.
kp_wait() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

# kp_wait_service UNIT SECONDS CHECK...: waits until CHECK passes after a (re)start of UNIT, but gives
# up as soon as systemd has restarted the unit twice: a daemon that crash-loops on a new config will
# not recover, and the rollback should not wait out the whole timeout.
kp_wait_service() {
  local unit=$1 deadline=$((SECONDS + $2)) base restarts
  shift 2
  base=$(systemctl show -p NRestarts --value "$unit" 2>/dev/null || echo 0)
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    [ "$(systemctl show -p ActiveState --value "$unit" 2>/dev/null)" != failed ] || return 1
    restarts=$(systemctl show -p NRestarts --value "$unit" 2>/dev/null || echo 0)
    [ $((restarts - base)) -lt 2 ] || return 1
    sleep 0.5
  done
}

# kp_download URL CHECKSUM: sets KP_DOWNLOADED to a verified copy in the download cache.
kp_download() {
  local url=$1 checksum=$2 algo want file tmp got
  algo=${checksum%%:*}
  want=${checksum#*:}
  file="$KP_DOWNLOAD_CACHE/$want-$(basename "$url")"
  mkdir -p "$KP_DOWNLOAD_CACHE"
  if [ -f "$file" ] && [ "$("${algo}sum" "$file" | cut -d' ' -f1)" = "$want" ]; then
    # shellcheck disable=SC2034 # output variable, read by the step body
    KP_DOWNLOADED=$file
    return 0
  fi
  tmp="$file.part"
  kp_log_line "downloading $url"
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 3 --connect-timeout 20 -o "$tmp" "$url" 2>>"$KP_LOG" || { rm -f "$tmp"; kp_fail "download failed: $url: $(kp_cause "$(tail -n 1 "$KP_LOG")")"; }
  elif command -v wget >/dev/null 2>&1; then
    wget -q -T 20 -t 3 -O "$tmp" "$url" 2>>"$KP_LOG" || { rm -f "$tmp"; kp_fail "download failed: $url: $(kp_cause "$(tail -n 1 "$KP_LOG")")"; }
  else
    kp_fail "neither curl nor wget is installed, so $url cannot be downloaded"
  fi
  got=$("${algo}sum" "$tmp" | cut -d' ' -f1)
  if [ "$got" != "$want" ]; then
    rm -f "$tmp"
    kp_fail "checksum mismatch for $url: expected $algo:$want, got $algo:$got; nothing was installed"
  fi
  mv -f "$tmp" "$file"
  # shellcheck disable=SC2034 # output variable, read by the step body
  KP_DOWNLOADED=$file
}

# Kernel modules -------------------------------------------------------------------------------
# KP_MODULE_EVIDENCE (set by the steps that call these) holds MODULE=EVIDENCE entries: how to see a
# built-in module that has no /sys/module entry (see src/catalog/kernel-modules.ts).
kp_module_evidence() {
  local entry evidence
  for entry in "${KP_MODULE_EVIDENCE[@]}"; do
    [ "${entry%%=*}" = "$1" ] || continue
    evidence=${entry#*=}
    case "$evidence" in
      filesystem:*) kp_has_filesystem "${evidence#filesystem:}" && return 0 ;;
      *) [ -e "$evidence" ] && return 0 ;;
    esac
  done
  return 1
}

# kp_has_filesystem NAME: the kernel lists NAME in /proc/filesystems (the last field of a line).
kp_has_filesystem() {
  awk -v fs="$1" '$NF == fs { found = 1 } END { exit !found }' /proc/filesystems 2>/dev/null
}

# kp_module_present NAME: loaded, or built into the kernel.
kp_module_present() {
  local release
  release=$(uname -r)
  [ -e "/sys/module/$1" ] && return 0
  if [ -f "/lib/modules/$release/modules.builtin" ] && grep -qE "/$1\.ko(\.[a-z]+)?$" "/lib/modules/$release/modules.builtin"; then return 0; fi
  kp_module_evidence "$1"
}

# Why this node cannot load modules, or nothing when it can.
kp_no_module_loading() {
  if [ ! -e /proc/modules ]; then
    printf 'the kernel cannot load modules (no /proc/modules)'
  elif [ ! -d "/lib/modules/$(uname -r)" ]; then
    printf 'the node has no /lib/modules/%s to load modules from (a container that shares its host'"'"'s kernel?)' "$(uname -r)"
  fi
}

# kp_load_module NAME [PURPOSE]: 0 when the kernel has the module or modprobe loads it now (recorded
# in KP_CHANGED as module:NAME); 1 when the kernel lacks it and the node cannot load modules, with
# the reason in KP_MODULE_UNLOADABLE. A module modprobe refuses fails the step with modprobe's cause.
# Steps call it before they change anything else, so its errors say that nothing was changed.
KP_MODULE_UNLOADABLE=
kp_load_module() {
  local purpose=${2:+ ($2)} err
  KP_MODULE_UNLOADABLE=
  kp_module_present "$1" && return 0
  KP_MODULE_UNLOADABLE=$(kp_no_module_loading)
  [ -z "$KP_MODULE_UNLOADABLE" ] || return 1
  command -v modprobe >/dev/null 2>&1 || kp_fail "cannot load kernel module $1$purpose: modprobe is not installed (Debian package kmod); nothing was changed"
  if ! err=$(modprobe "$1" 2>&1); then
    kp_fail "cannot load kernel module $1$purpose: $(kp_cause "$err"); nothing was changed"
  fi
  KP_CHANGED+=("module:$1")
  kp_say "loaded kernel module $1$purpose"
}

# kp_apt_install PKG[=VERSION]...: installs missing or different packages, keeping local conffiles.
# VERSION may be an apt glob such as 1.6.20* (any Debian revision of upstream 1.6.20).
kp_apt_install() {
  # An install killed halfway (power loss, SIGKILL of the step) leaves dpkg's journal behind, and apt
  # refuses every install until it is replayed. Checked before deciding there is nothing to do: the
  # kill can land after the wanted packages are in but while a dependency is still unconfigured.
  if [ -n "$(ls -A /var/lib/dpkg/updates 2>/dev/null)" ] || [ -n "$(dpkg --audit 2>/dev/null)" ]; then
    kp_say "dpkg was interrupted by an earlier run; finishing it (dpkg --configure -a)"
    DEBIAN_FRONTEND=noninteractive dpkg --force-confold --force-confdef --configure -a >>"$KP_LOG" 2>&1 ||
      kp_fail "dpkg --configure -a failed after an interrupted install; see $KP_LOG on the node"
    KP_CHANGED+=("dpkg:configure -a")
  fi
  local spec name version installed wanted=()
  for spec in "$@"; do
    name=${spec%%=*}
    version=
    [ "$name" = "$spec" ] || version=${spec#*=}
    if [ -n "$version" ]; then
      installed=$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$name" 2>/dev/null || true)
      # shellcheck disable=SC2053 # the version is a glob on purpose
      [[ ${installed#installed } == $version && $installed == installed\ * ]] || wanted+=("$spec")
    else
      dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q 'install ok installed' || wanted+=("$spec")
    fi
  done
  [ "${#wanted[@]}" -gt 0 ] || return 1
  kp_require_commands apt-get apt-cache dpkg dpkg-query
  # --allow-downgrades: a pinned version is the version wanted, also below the installed one (a runtime swap back).
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q --allow-downgrades -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef)
  # Every name must have a candidate before anything is installed: apt's own error for a missing one
  # comes after it has resolved the rest, and names nothing a stack author can act on.
  local unknown
  unknown=$(kp_apt_unknown "${wanted[@]}")
  if [ -n "$unknown" ]; then
    "${apt[@]}" update >>"$KP_LOG" 2>&1 || kp_fail "apt-get update failed; see $KP_LOG"
    unknown=$(kp_apt_unknown "${wanted[@]}")
    [ -z "$unknown" ] || kp_fail "package(s) ${unknown% } not found in the node's apt sources (apt-cache policy has no candidate, after apt-get update); nothing was installed"
  fi
  kp_say "installing packages: ${wanted[*]}"
  if ! "${apt[@]}" install --no-install-recommends "${wanted[@]}" >>"$KP_LOG" 2>&1; then
    "${apt[@]}" update >>"$KP_LOG" 2>&1 || kp_fail "apt-get update failed; see $KP_LOG"
    "${apt[@]}" install --no-install-recommends "${wanted[@]}" >>"$KP_LOG" 2>&1 ||
      kp_fail "apt-get install ${wanted[*]} failed; see $KP_LOG on the node"
  fi
  KP_CHANGED+=("package:${wanted[*]}")
  kp_fault_point "installed packages ${wanted[*]}"
  return 0
}

# kp_apt_unknown PKG[=VERSION]...: the names apt has no install candidate for, space-separated.
kp_apt_unknown() {
  local spec candidate
  for spec in "$@"; do
    candidate=$(apt-cache policy "${spec%%=*}" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')
    case "$candidate" in "" | "(none)") printf '%s ' "${spec%%=*}" ;; esac
  done
}

kp_json_string() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

kp_json_list() {
  local first=1 item
  printf '['
  for item in "$@"; do
    [ "$first" = 1 ] || printf ','
    first=0
    kp_json_string "$item"
  done
  printf ']'
}

# The last stdout line is machine-readable: what changed and what restarted on this node, and what
# the step could not do there (kp_skip).
kp_end() {
  kp_record_owned
  # TEST-ONLY (kp_fault_load): the step ended before the injected fault point.
  if [ -n "$KP_FAULT_AT" ]; then
    printf 'passed %s\n' "$KP_FAULT_COUNT" >"$KP_RUN_DIR/fault-fired"
    rm -f "$KP_RUN_DIR/fault-injection"
  fi
  # A file that holds credentials keeps no backup once the step succeeded: old secrets must not linger.
  local path
  for path in "${KP_CREDENTIAL_FILES[@]}"; do rm -f "$(kp_aside "$path" bak)"; done
  if [ "${#KP_CHANGED[@]}" = 0 ] && [ "${#KP_RESTARTED[@]}" = 0 ]; then
    kp_say "unchanged"
  fi
  kp_log_line "end step $KP_STEP: ${#KP_CHANGED[@]} change(s), restarted: ${KP_RESTARTED[*]:-none}"
  {
    printf 'KUBEPLUG_RESULT {"node":%s,"step":%s,"changed":' "$(kp_json_string "$KP_NODE")" "$(kp_json_string "$KP_STEP")"
    kp_json_list "${KP_CHANGED[@]}"
    printf ',"restarted":'
    kp_json_list "${KP_RESTARTED[@]}"
    printf ',"skipped":'
    kp_json_list "${KP_SKIPPED[@]}"
    printf '}\n'
  } 2>/dev/null || true
}
