#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# fos1-zeek: runs Zeek on the mirror interface with the rendered local.zeek. Zeek writes JSON
# logs into the directory the agent follows and rotates them hourly; rotated logs older than
# the retention are removed here, since standalone Zeek never deletes them.
# Paths default to where the DpiSensor's pods mount them (components/kubernetes/sensor-config.ts).
set -euo pipefail

config_dir=${FOS1_CONFIG_DIR:-/etc/fos1-sensor}
log_dir=${FOS1_ZEEK_LOG_DIR:-/run/fos1/events/zeek}
interface=${FOS1_MIRROR_INTERFACE:-}
interface_wait=${FOS1_INTERFACE_WAIT_SECONDS:-60}
retention_hours=${FOS1_ZEEK_RETENTION_HOURS:-24}

fail() {
  echo "fos1-zeek: $*" >&2
  exit 1
}

[ -r "$config_dir/local.zeek" ] || fail "$config_dir/local.zeek: missing; the DpiSensor's ConfigMap provides it"
[[ $retention_hours =~ ^[1-9][0-9]*$ ]] || fail "FOS1_ZEEK_RETENTION_HOURS: '$retention_hours' is not a positive whole number"
[ -n "$interface" ] || fail "FOS1_MIRROR_INTERFACE is not set"
waited=0
# The agent creates the mirror interface; a sensor that starts first waits for it a while.
until [ -e "/sys/class/net/$interface" ]; do
  [ "$waited" -lt "$interface_wait" ] || fail "interface $interface did not appear within ${interface_wait}s"
  sleep 1
  waited=$((waited + 1))
done

mkdir -p "$log_dir"
# Rotated logs are named <log>.<yyyy-mm-dd-hh-mm-ss>.log; live ones (<log>.log) are never touched.
prune() {
  find "$log_dir" -maxdepth 1 -type f -name '*.????-??-??-??-??-??.log' -mmin "+$((retention_hours * 60))" -delete
}
prune
(while sleep 600; do prune; done) &
# Zeek rotates into its working directory: the log directory itself, where the agent reads rotated logs.
cd "$log_dir"
exec zeek -C -i "af_packet::$interface" "$config_dir/local.zeek" "$@"
