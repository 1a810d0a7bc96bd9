#!/usr/bin/env bash
# Builds DPDK's own l3fwd example (package dpdk-doc) out of tree, as a benchmark peer.
# Usage: benches/peers/build-l3fwd.sh [BUILD_DIR]   → prints the binary's path.
set -euo pipefail
out="${1:-/tmp/relay-peers/l3fwd}"
src=/usr/share/dpdk/examples
[ -d "$src/l3fwd" ] || { echo "build-l3fwd: $src/l3fwd missing (apt-get install dpdk-doc)" >&2; exit 1; }
if [ ! -x "$out/l3fwd/build/l3fwd" ]; then
  rm -rf "$out"
  mkdir -p "$out"
  # l3fwd includes ../common: copy both side by side.
  cp -r "$src/l3fwd" "$src/common" "$out/"
  # Virtual ports offer no rx checksum offload, and l3fwd asks for it unconditionally.
  sed -i 's/\.offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM,/.offloads = 0,/' "$out/l3fwd/main.c"
  make -s -C "$out/l3fwd" >&2
fi
echo "$out/l3fwd/build/l3fwd"
