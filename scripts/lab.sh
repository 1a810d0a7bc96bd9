#!/usr/bin/env bash
# The main job: build everything and run the seed's 6to4 testbed (docs/lab.md): relayd as
# R1, R2 (6to4 routers), R3 (6to4 relay, also configured-tunnel end and 6rd BR), R4 (site
# behind a configured tunnel) and R5 (6rd CE) on TAP ports, Linux hosts A to E and the IPv4
# Internet in network namespaces. No NIC needed. Runs scenarios 1, 2, 7 and 8, then shows each
# router's rates and drops until Ctrl-C, then tears everything down. Installs what it needs
# first (Debian 12, root). Arguments go to `relay-lab run` (e.g. --static-neighbours false).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --workspace --bins
exec ./target/release/relay-lab run "$@"
