#!/usr/bin/env bash
# What a change costs the fast path: pipeline-bench of the commit BASE (before the change)
# against pipeline-bench of this tree, alternating run by run on the same machine, then
# instructions counted once each. Writes section SECTION of benches/RESULTS.md under TITLE,
# with NOTE (what the change is, what else came since BASE) in its first paragraph.
#
#   ./scripts/bench-change.sh BASE SECTION TITLE NOTE
#   ./scripts/bench-change.sh fe1c06d reassembly "Outer IPv4 reassembly: what it costs" "…"
set -euo pipefail
cd "$(dirname "$0")/.."
base=$1 section=$2 title=$3 note=$4
runs=9
bursts=20000
tmp=$(mktemp -d)
wt="$tmp/base"
git worktree add --detach "$wt" "$base" >/dev/null
trap 'git worktree remove --force "$wt"; rm -rf "$tmp"' EXIT

# Each binary in its own target dir: the base tree's is reused between invocations.
CARGO_TARGET_DIR="$PWD/target/bench-base" cargo build --release -p relay-benches --bin pipeline-bench --manifest-path "$wt/Cargo.toml"
cargo build --release -p relay-benches --bin pipeline-bench
# Alternate the two binaries run by run, so that drift on a shared machine hits both alike;
# instructions (exact) once each at the end.
for i in $(seq "$runs"); do
  (cd "$wt" && "$OLDPWD/target/bench-base/release/pipeline-bench" --runs 1 --bursts $bursts --results "$tmp/base-$i.md" >/dev/null 2>&1)
  ./target/release/pipeline-bench --runs 1 --bursts $bursts --results "$tmp/now-$i.md" >/dev/null 2>&1
done
(cd "$wt" && "$OLDPWD/target/bench-base/release/pipeline-bench" --runs 1 --bursts 2000 --instructions --results "$tmp/base-ir.md" >/dev/null 2>&1)
./target/release/pipeline-bench --runs 1 --bursts 2000 --instructions --results "$tmp/now-ir.md" >/dev/null 2>&1

python3 - "$tmp" "$base" "$(git rev-parse --short HEAD)" "$runs" "$bursts" "$section" "$title" "$note" <<'EOF'
import re, sys, subprocess, datetime, statistics, shlex
tmp, base, head, runs, bursts, section, title, note = sys.argv[1:]

def rows(path):
    out = {}
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) == 7 and re.match(r'^[0-9.]+$', cells[1]):
            ir = float(cells[5]) if re.match(r'^[0-9.]+$', cells[5]) else None
            out[cells[0]] = (float(cells[1]), ir)
    return out

def merged(kind):
    """Median ns over the alternating runs, instructions from the counted run."""
    per_run = [rows(f"{tmp}/{kind}-{i}.md") for i in range(1, int(runs) + 1)]
    ir = rows(f"{tmp}/{kind}-ir.md")
    return {name: (statistics.median(r[name][0] for r in per_run), ir[name][1]) for name in ir}

b, n = merged("base"), merged("now")
lines = [
    f"## {title}",
    "",
    f"`pipeline-bench` of commit `{base}` (before) and of `{head}`, alternating run by run "
    f"({runs} runs of {bursts} bursts each, median ns/packet), then instructions counted once each "
    f"(callgrind, exact); rows as in the pipeline section. {note} Machine: "
    + subprocess.run(["uname", "-sr"], capture_output=True, text=True).stdout.strip()
    + ", 2 cores shared with other work (timings noisy; instruction counts exact). Date: "
    + datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC") + ".",
    "",
    "Command: `./scripts/bench-change.sh " + " ".join(shlex.quote(a) for a in (base, section, title, note)) + "`",
    "",
    "| scenario | before: ns/packet | now: ns/packet | before ÷ now (rate, goal ≥ 0.98) | before: instructions | now: instructions | before ÷ now |",
    "|---|---:|---:|---:|---:|---:|---:|",
]
for name in [k for k in n if k in b]:
    (bt, bi), (nt, ni) = b[name], n[name]
    lines.append(f"| {name} | {bt:.1f} | {nt:.1f} | {bt / nt:.3f} | {bi:.0f} | {ni:.0f} | {bi / ni:.3f} |")
frag = "6to4 decap, 2-fragment datagrams (per fragment)"
if frag in n and "6to4 decap" in n:
    (ft, fi), (dt, di) = n[frag], n["6to4 decap"]
    lines += [
        "",
        f"2-fragment datagrams: {ft:.1f} ns and {fi:.0f} instructions per fragment, so {2 * ft:.1f} ns and "
        f"{2 * fi:.0f} instructions per datagram: {2 * fi / di:.2f}× an unfragmented decap "
        f"({1e3 / (2 * ft):.1f} M datagrams/s on one core at this ns figure).",
    ]
body = "\n".join(lines)
path = "benches/RESULTS.md"
text = open(path).read()
start, end = f"<!-- {section}:start -->", f"<!-- {section}:end -->"
block = f"{start}\n{body}\n{end}"
if start in text and end in text:
    text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
else:
    text = text.rstrip() + "\n" + block + "\n"
open(path, "w").write(text)
print(body)
EOF
