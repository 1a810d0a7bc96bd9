#!/usr/bin/env bash
# The benchmark suite, one command: installs what it needs, builds the release binaries, then
# runs every benchmark on this machine; each rewrites its own section of benches/RESULTS.md
# (machine, date, command, figures). RESULTS=/tmp/x.md writes elsewhere (trial runs).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never
results=${RESULTS:-benches/RESULTS.md}
cargo build --release -p relayd -p relay-tools -p relay-benches
# The benchmarks find relayd and relay-gen next to themselves.
bin="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release"

run() {
  echo "== $1 ($(date -u +%T))" >&2
  "$bin/$1" "${@:2}" --results "$results"
}

# lpm-bench prints its section instead of writing it: put it between its markers (`$1`)
# here; the rest are lpm-bench's arguments.
lpm_section() {
  echo "== lpm-bench ${*:2} ($(date -u +%T))" >&2
  "$bin/lpm-bench" "${@:2}" >"$results.lpm.tmp"
  python3 - "$results" "$results.lpm.tmp" "$1" <<'PY'
import sys
path, body, name = sys.argv[1], open(sys.argv[2]).read().rstrip(), sys.argv[3]
start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
try:
    old = open(path).read()
except FileNotFoundError:
    old = "# Benchmark results\n"
block = f"{start}\n{body}\n{end}"
a, b = old.find(start), old.find(end)
new = old[:a] + block + old[b + len(end):] if 0 <= a < b else old.rstrip() + "\n" + block + "\n"
open(path, "w").write(new)
PY
  rm -f "$results.lpm.tmp"
}

start=$SECONDS
# Forwarding rates on 2 MiB hugepages, as in production: on 4 KiB pages (--no-huge) TLB misses
# on mbufs cost every contestant about 40 % and hide the forwarders' own differences.
if ./scripts/hugepages.sh 1024; then fwd_memory=--hugepages; else fwd_memory=; fi
run fwd-bench $fwd_memory   # 1. forwarding rate on one core, vs testpmd io and l3fwd
run ipp-bench            # 2. instructions per packet under callgrind
run pipeline-bench --instructions   # 2b. pipeline alone per mechanism, time and callgrind instructions
run latency-bench --runs 5 # 3. (tails are noisy: 5 runs) latency over memif at 10/50/90 % of the max rate, vs testpmd io
run scale-bench $fwd_memory # 4. 1 vs 2 workers, cores needed for 100GbE at 64 B
run scale-bench --pinning $fwd_memory # 4b. 2 workers on one CPU vs two (docs/tuning.md)
lpm_section lpm          # 5. LPM vs rte_lpm6/rte_fib6
lpm_section lpm4 --ipv4  # 5b. IPv4 LPM (outer destinations) vs rte_lpm
run churn-bench $fwd_memory # 5. forwarding under 100k route updates/s
echo "bench: done in $(( (SECONDS - start) / 60 )) min; figures in $results" >&2
