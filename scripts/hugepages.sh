#!/usr/bin/env bash
# Reserves 2 MiB hugepages for DPDK and mounts hugetlbfs (root). Usage: hugepages.sh [pages]
# (default 1024 = 2 GiB). Exits non-zero when the kernel cannot give that many, so callers
# can fall back to --no-huge and say so.
set -euo pipefail
want=${1:-1024}
have=$(cat /proc/sys/vm/nr_hugepages)
if [ "$have" -lt "$want" ]; then
  echo "$want" > /proc/sys/vm/nr_hugepages
fi
mountpoint -q /dev/hugepages || { mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages; }
got=$(cat /proc/sys/vm/nr_hugepages)
if [ "$got" -lt "$want" ]; then
  echo "hugepages: asked for $want 2 MiB pages, the kernel gave $got" >&2
  exit 1
fi
echo "hugepages: $got × 2 MiB reserved, hugetlbfs on /dev/hugepages" >&2
