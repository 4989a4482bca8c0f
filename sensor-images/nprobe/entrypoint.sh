#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# fos1-nprobe: refuses to start without nProbe's licence (nProbe alone would fall back to a
# time-limited demo mode and stop exporting after it), then runs nProbe with the rendered
# nprobe.conf: capture on the mirror interface, JSON flows over TCP to the agent.
# Paths default to where the DpiSensor's pods mount them (components/kubernetes/sensor-config.ts).
set -euo pipefail

config_dir=${FOS1_CONFIG_DIR:-/etc/fos1-sensor}
# What nProbe reads; the image links it into the licence Secret's mount.
license=${FOS1_NPROBE_LICENSE:-/etc/nprobe.license}
interface=${FOS1_MIRROR_INTERFACE:-}
interface_wait=${FOS1_INTERFACE_WAIT_SECONDS:-60}

fail() {
  echo "fos1-nprobe: $*" >&2
  exit 1
}

if [ ! -s "$license" ]; then
  fail "no licence at $license: create the Secret '<DpiSensor name>-nprobe-license' with key 'nprobe.license' (the licence for this node's nProbe system id) in the sensors' namespace"
fi
[ -r "$config_dir/nprobe.conf" ] || fail "$config_dir/nprobe.conf: missing; the DpiSensor's ConfigMap provides it"
[ -n "$interface" ] || fail "FOS1_MIRROR_INTERFACE is not set"
waited=0
# The agent creates the mirror interface; a sensor that starts first waits for it a while.
until [ -e "/sys/class/net/$interface" ]; do
  [ "$waited" -lt "$interface_wait" ] || fail "interface $interface did not appear within ${interface_wait}s"
  sleep 1
  waited=$((waited + 1))
done

exec nprobe "$config_dir/nprobe.conf" "$@"
