#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# fos1-suricata: `fetch-rules` downloads the pinned rule archives, refuses any whose
# sha256 differs from its pin, and merges the verified ones with suricata-update;
# `run` starts Suricata on the mirror interface with the rendered suricata.yaml.
# Paths default to where the DpiSensor's pods mount them (components/kubernetes/sensor-config.ts).
set -euo pipefail

config_dir=${FOS1_CONFIG_DIR:-/etc/fos1-sensor}
rules_dir=${FOS1_RULES_DIR:-/var/lib/suricata/rules}
work_dir=${FOS1_WORK_DIR:-/tmp/fos1-rules}
interface=${FOS1_MIRROR_INTERFACE:-}
interface_wait=${FOS1_INTERFACE_WAIT_SECONDS:-60}

fail() {
  echo "fos1-suricata: $*" >&2
  exit 1
}

fetch_rules() {
  local list="$config_dir/rule-sources.list"
  [ -r "$list" ] || fail "$list: missing; it lists the pinned rule archives (name sha256 url)"
  rm -rf "$work_dir"
  mkdir -p "$work_dir/archives" "$rules_dir"
  local urls=() name sha256 url extra archive actual
  while read -r name sha256 url extra; do
    case "$name" in '' | '#'*) continue ;; esac
    [ -n "$url" ] && [ -z "$extra" ] || fail "$list: '$name $sha256 $url $extra': expected 'name sha256 url'"
    [[ $sha256 =~ ^[0-9a-f]{64}$ ]] || fail "$list: $name: '$sha256' is not a sha256"
    archive="$work_dir/archives/$name.tar.gz"
    curl -fsSL --proto =https --retry 3 --max-time 300 -o "$archive" "$url" ||
      fail "$name: cannot download $url"
    actual=$(sha256sum "$archive" | cut -d' ' -f1)
    if [ "$actual" != "$sha256" ]; then
      rm -f "$archive"
      fail "$name: $url has sha256 $actual, pinned $sha256: refusing it (a new rule set needs a new pin in the DpiSensor's ruleSources)"
    fi
    echo "fos1-suricata: $name: sha256 $sha256 verified"
    urls+=(--url "file://$archive")
  done <"$list"
  [ ${#urls[@]} -gt 0 ] || fail "$list: no rule source; Suricata without rules inspects nothing"
  # Offline from here: only the verified archives are read. Suricata tests the rules when it starts.
  suricata-update update --no-test --no-reload \
    --data-dir "$work_dir/data" --output "$rules_dir" \
    --suricata-conf "$config_dir/suricata.yaml" "${urls[@]}" ||
    fail "suricata-update failed on the verified archives"
  [ -s "$rules_dir/suricata.rules" ] || fail "suricata-update wrote no $rules_dir/suricata.rules"
  echo "fos1-suricata: $(grep -c '^alert\|^drop\|^pass\|^reject' "$rules_dir/suricata.rules") rules in $rules_dir/suricata.rules"
}

wait_for_interface() {
  [ -n "$interface" ] || fail "FOS1_MIRROR_INTERFACE is not set"
  local waited=0
  # The agent creates the mirror interface; a sensor that starts first waits for it a while.
  until [ -e "/sys/class/net/$interface" ]; do
    [ "$waited" -lt "$interface_wait" ] || fail "interface $interface did not appear within ${interface_wait}s"
    sleep 1
    waited=$((waited + 1))
  done
}

run() {
  [ -s "$rules_dir/suricata.rules" ] ||
    fail "$rules_dir/suricata.rules: missing; run 'fetch-rules' first (the pod's init container does)"
  wait_for_interface
  exec suricata -c "$config_dir/suricata.yaml" --af-packet="$interface" "$@"
}

command=${1:-run}
[ $# -gt 0 ] && shift
case "$command" in
  fetch-rules) fetch_rules ;;
  run) run "$@" ;;
  *) fail "unknown command '$command' (fetch-rules | run [suricata options])" ;;
esac
