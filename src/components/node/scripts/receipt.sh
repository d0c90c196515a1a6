# shellcheck shell=bash
# Install receipts: what an install step put on the node, written after the step succeeded, so that a
# converged run proves itself from what it recorded (one sha256sum -c over the files, one stat for
# their modes and owners) instead of re-hashing the cached release tarball, unpacking it and comparing
# every file again. The step header sets KP_RECEIPT_KEY: the sha256 of everything the step wants (its
# variables and files, see receipt.ts). $KP_STATE_DIR/receipts/<step>:
#   kubeplug-receipt 1
#   key KP_RECEIPT_KEY
#   file SHA256 MODE OWNER PATH     one per file the step owns (the paths of its ownership list)
#   seal SHA256                     of the lines above: a torn or edited receipt is no receipt
# Any doubt (no receipt, another key, a broken seal, one file off) means the full install, which
# repairs the node and writes the receipt again.

KP_RECEIPT_FORMAT="kubeplug-receipt 1"
# Set by kp_receipt_current: the receipt already says what is on the node.
KP_RECEIPT_CURRENT=0

kp_receipt_path() {
  printf '%s/receipts/%s' "$KP_STATE_DIR" "$KP_STEP"
}

# kp_receipt_current: 0 when the receipt is whole, is for KP_RECEIPT_KEY and every file it lists still
# has its recorded bytes, mode and owner. Those files then count as installed by this run (KP_OWNED),
# with their hashes known (KP_KNOWN_SHA), so kp_prune_owned and kp_record_owned need no hashing either.
# Run it as an `if` condition: every failure is a "no", never a step failure.
kp_receipt_current() {
  local receipt body sums stats want
  receipt=$(kp_receipt_path)
  [ -f "$receipt" ] || return 1
  body=$(sed '$d' "$receipt") || return 1
  if [ "$(tail -n 1 "$receipt")" != "seal $(printf '%s\n' "$body" | sha256sum | cut -d' ' -f1)" ]; then
    kp_warn "$receipt is damaged (its seal does not match); installing in full"
    return 1
  fi
  if [ "$(printf '%s\n' "$body" | sed -n 1p)" != "$KP_RECEIPT_FORMAT" ] || [ "$(printf '%s\n' "$body" | sed -n 2p)" != "key $KP_RECEIPT_KEY" ]; then
    kp_say "the install receipt is for another install; installing in full"
    return 1
  fi
  sums=$(printf '%s\n' "$body" | awk '$1 == "file" { sha = $2; sub(/^file [^ ]+ [^ ]+ [^ ]+ /, ""); print sha "  " $0 }')
  [ -n "$sums" ] || return 1
  local paths=()
  mapfile -t paths < <(printf '%s\n' "$sums" | cut -c67-)
  if ! printf '%s\n' "$sums" | sha256sum --quiet --strict -c - >/dev/null 2>&1; then
    kp_say "a file the install receipt lists changed or is gone; installing in full"
    return 1
  fi
  want=$(printf '%s\n' "$body" | awk '$1 == "file" { sub(/^file [^ ]+ /, ""); print }')
  stats=$(stat -c '%a %U:%G %n' -- "${paths[@]}" 2>/dev/null) || return 1
  if [ "$stats" != "$want" ]; then
    kp_say "a file the install receipt lists has another mode or owner; installing in full"
    return 1
  fi
  local line
  KP_RECEIPT_CURRENT=1
  while IFS= read -r line; do
    KP_OWNED+=("${line:66}")
    # shellcheck disable=SC2034,SC2004 # KP_KNOWN_SHA is the prelude's associative array, read by kp_record_owned
    KP_KNOWN_SHA[${line:66}]=${line:0:64}
  done <<<"$sums"
  return 0
}

# kp_receipt_write: records the files this run owns, as they are now; call once the install is done.
# A receipt that cannot be written (a full disk) is removed instead: the next run installs in full,
# and the install that just succeeded stands.
kp_receipt_write() {
  local receipt staged path err
  # A current receipt with nothing changed since is the record already: no second hashing.
  [ "$KP_RECEIPT_CURRENT" = 0 ] || [ "${#KP_CHANGED[@]}" -gt 0 ] || return 0
  receipt=$(kp_receipt_path)
  staged="$KP_STAGE/receipt"
  local files=()
  local -A in_receipt=()
  for path in "${KP_OWNED[@]}"; do
    # A run that asked the receipt lists its files twice: from the receipt, and as it installed them.
    if [ -f "$path" ] && [ -z "${in_receipt[$path]:-}" ]; then
      in_receipt[$path]=1
      files+=("$path")
    fi
  done
  [ "${#files[@]}" -gt 0 ] || return 0
  {
    printf '%s\nkey %s\n' "$KP_RECEIPT_FORMAT" "$KP_RECEIPT_KEY"
    # One sha256sum and one stat for all files, joined by their order.
    paste -d' ' <(sha256sum -- "${files[@]}" | cut -d' ' -f1) <(stat -c '%a %U:%G %n' -- "${files[@]}") | sed 's/^/file /'
  } >"$staged" 2>/dev/null || {
    kp_receipt_drop "cannot record the install receipt"
    return 0
  }
  printf 'seal %s\n' "$(sha256sum <"$staged" | cut -d' ' -f1)" >>"$staged"
  # shellcheck disable=SC2034,SC2004 # KP_KNOWN_SHA is the prelude's associative array, read by kp_record_owned
  while read -r _ sha _ _ path; do KP_KNOWN_SHA[$path]=$sha; done < <(grep '^file ' "$staged")
  [ -f "$receipt" ] && cmp -s "$staged" "$receipt" && return 0
  if ! err=$({ mkdir -p "${receipt%/*}" && cp "$staged" "$receipt.kubeplug.new" && sync "$receipt.kubeplug.new" && cmp -s "$staged" "$receipt.kubeplug.new" && mv -f "$receipt.kubeplug.new" "$receipt"; } 2>&1); then
    rm -f "$receipt.kubeplug.new"
    kp_receipt_drop "cannot write $receipt: $(kp_cause "$err")"
    return 0
  fi
  sync "${receipt%/*}" 2>/dev/null || true
}

kp_receipt_drop() {
  rm -f "$(kp_receipt_path)" 2>/dev/null || true
  kp_warn "$1; the next run installs in full"
}
