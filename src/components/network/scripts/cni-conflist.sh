# shellcheck shell=bash
# Writes kubeplug's network configuration lists and removes the ones it wrote before and no longer
# has. containerd uses the lexically first file in the directory and stops at the first one it cannot
# parse, so nothing is written while another file would shadow kubeplug's list. A failure after the
# first write puts every list back as it was (kp_rollback_files).
for type in "${KP_PLUGIN_TYPES[@]}"; do
  [ -x "$KP_CNI_BIN_DIR/$type" ] || kp_fail "the network configuration needs plugin $type, which is not in $KP_CNI_BIN_DIR; nothing was changed"
done

if [ "${#KP_CONFLISTS[@]}" -gt 0 ]; then
  ours=$(basename "${KP_CONFLISTS[0]}")
  mkdir -p "$KP_CNI_CONF_DIR"
  while IFS= read -r -d '' file; do
    name=$(basename "$file")
    [[ "$name" < "$ours" ]] || continue
    owned=0
    for path in "${KP_CONFLISTS[@]}"; do [ "$path" = "$file" ] && owned=1; done
    grep -qs " $file\$" "$(kp_owned_list)" && owned=1
    [ "$owned" = 1 ] || kp_fail "$file sorts before $ours, so the runtime would use it instead; remove it or give kubeplug's list a lower priority; nothing was changed"
  done < <(find "$KP_CNI_CONF_DIR" -maxdepth 1 -type f \( -name '*.conf' -o -name '*.conflist' -o -name '*.json' \) -print0)
fi

for path in "${KP_CONFLISTS[@]}"; do
  kp_install_file "$(kp_staged "$path")" "$path" 0644 || true
done
kp_prune_owned
