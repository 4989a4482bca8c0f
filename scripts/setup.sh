#!/usr/bin/env bash
# Prepares a fresh Debian machine for building and testing fos1-dpi: Debian
# packages (as root), npm dependencies, and the eBPF objects. Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t packages < <(grep -v '^\s*#' scripts/debian-packages.txt | grep -v '^\s*$')
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages (${missing[*]}); run as root to install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi

for dir in bpf sensor-images/ndpi; do
  if [ -f "$dir/Makefile" ]; then make -C "$dir"; fi
done

# The agent's libbpf addon, rebuilt when a source is newer than the built module.
addon=agent/native/build/Release/fos1_bpf.node
if [ ! -f "$addon" ] || [ -n "$(find agent/native/*.c agent/native/*.h agent/native/binding.gyp bpf/tools bpf/include -newer "$addon" -print -quit)" ]; then
  echo "setup: building the agent's libbpf addon"
  npm run --silent -w agent build:native
fi
