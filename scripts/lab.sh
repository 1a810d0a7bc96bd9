#!/usr/bin/env bash
# The main job: build relayd and run it on its embedded default (virtual ports, no NIC needed)
# until Ctrl-C. Installs what it needs first (Debian 12, root).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --workspace --bins
exec ./target/release/relayd "$@"
