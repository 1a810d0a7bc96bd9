#!/usr/bin/env bash
# Runs every test: unit, property, DPDK runtime (EAL on virtual ports) and the netns/TAP
# end-to-end tests. Installs what it needs first (Debian 12, root).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never
# Tests that start relayd instances use their own --file-prefix each and may share cores.
cargo build --workspace --release --all-targets
cargo test --workspace --release -- --test-threads=1
