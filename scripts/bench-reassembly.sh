#!/usr/bin/env bash
# What outer IPv4 reassembly (issue 18 §1) costs: pipeline-bench of the commit before it was
# added against pipeline-bench of this tree, in one invocation on the same machine, and the
# decap rate of 2-fragment datagrams. Writes the `reassembly` section of benches/RESULTS.md.
#
#   ./scripts/bench-reassembly.sh [BASE]     BASE: the last commit without reassembly (fe1c06d)
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-fe1c06d}
runs=9
bursts=20000
tmp=$(mktemp -d)
wt="$tmp/base"
git worktree add --detach "$wt" "$base" >/dev/null
trap 'git worktree remove --force "$wt"; rm -rf "$tmp"' EXIT

# Each binary in its own target dir: the base tree's is reused between invocations.
CARGO_TARGET_DIR="$PWD/target/bench-base" cargo build --release -p relay-benches --bin pipeline-bench --manifest-path "$wt/Cargo.toml"
cargo build --release -p relay-benches --bin pipeline-bench
(cd "$wt" && "$OLDPWD/target/bench-base/release/pipeline-bench" --runs $runs --bursts $bursts --instructions --results "$tmp/base.md" >/dev/null)
./target/release/pipeline-bench --runs $runs --bursts $bursts --instructions --results "$tmp/now.md" >/dev/null

python3 - "$tmp/base.md" "$tmp/now.md" "$base" "$(git rev-parse --short HEAD)" "$runs" "$bursts" <<'EOF'
import re, sys, subprocess, datetime
base_md, now_md, base, head, runs, bursts = sys.argv[1:]

def rows(path):
    out = {}
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) == 7 and re.match(r'^[0-9.]+$', cells[1]):
            out[cells[0]] = (float(cells[1]), float(cells[5]))
    return out

b, n = rows(base_md), rows(now_md)
lines = [
    "## Outer IPv4 reassembly: what it costs",
    "",
    f"`pipeline-bench` ({runs} runs × {bursts} bursts, `--instructions`) of commit `{base}` (before "
    f"reassembly) and of `{head}`, one after the other in one invocation on the same machine; "
    "rows as in the pipeline section. Unfragmented traffic runs the same code with the reassembly "
    "in place (one deadline check per burst; the fragment test existed before). The fragment row "
    "sends each 100-byte IPv6 packet as two IPv4 fragments and counts per fragment. Machine: "
    + subprocess.run(["uname", "-sr"], capture_output=True, text=True).stdout.strip()
    + ", 2 cores shared with other work (timings noisy; instruction counts exact). Date: "
    + datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC") + ".",
    "",
    "Command: `./scripts/bench-reassembly.sh " + base + "`",
    "",
    "| scenario | before: ns/packet | now: ns/packet | before ÷ now (rate, goal ≥ 0.98) | before: instructions | now: instructions | before ÷ now |",
    "|---|---:|---:|---:|---:|---:|---:|",
]
for name in ["6to4 encap (2002::/16)", "6to4 decap", "configured decap", "ISATAP decap", "6rd decap"]:
    (bt, bi), (nt, ni) = b[name], n[name]
    lines.append(f"| {name} | {bt:.1} | {nt:.1} | {bt / nt:.3} | {bi:.0} | {ni:.0} | {bi / ni:.3} |")
ft, fi = n["6to4 decap, 2-fragment datagrams (per fragment)"]
dt, di = n["6to4 decap"]
lines += [
    "",
    f"2-fragment datagrams: {ft:.1} ns and {fi:.0} instructions per fragment, so {2 * ft:.1} ns and "
    f"{2 * fi:.0} instructions per datagram: {2 * fi / di:.2}× an unfragmented decap "
    f"({1e3 / (2 * ft):.1} M datagrams/s on one core at this ns figure).",
]
body = "\n".join(lines)
path = "benches/RESULTS.md"
text = open(path).read()
start, end = "<!-- reassembly:start -->", "<!-- reassembly:end -->"
block = f"{start}\n{body}\n{end}"
if start in text and end in text:
    text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
else:
    text = text.rstrip() + "\n" + block + "\n"
open(path, "w").write(text)
print(body)
EOF
