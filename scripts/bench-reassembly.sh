#!/usr/bin/env bash
# What outer IPv4 reassembly (issue 18 §1) costs: scripts/bench-change.sh against the last
# commit without it, and the decap rate of 2-fragment datagrams. Writes the `reassembly`
# section of benches/RESULTS.md.
#
#   ./scripts/bench-reassembly.sh [BASE]     BASE: the last commit without reassembly (fe1c06d)
set -euo pipefail
exec "$(dirname "$0")/bench-change.sh" "${1:-fe1c06d}" reassembly "Outer IPv4 reassembly: what it costs" \
  "Unfragmented traffic runs the same code with the reassembly in place (one deadline check per burst; the fragment test existed before). This tree also holds the other changes since the base, so the columns bound what reassembly costs from above. The fragment row sends each 100-byte IPv6 packet as two IPv4 fragments and counts per fragment."
