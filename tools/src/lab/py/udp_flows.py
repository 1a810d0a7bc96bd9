#!/usr/bin/env python3
"""Distinct UDP flows for the anycast lab's ECMP check.

  udp_flows.py DST FIRST_PORT FLOWS PACKETS

Sends PACKETS datagrams on each of FLOWS flows to DST port 9 (discard), flow i from
source port FIRST_PORT + i, and prints `sent N`. The upstream hashes each flow to one
relay; the relays' counters tell how they were spread.
"""
import socket
import sys
import time

PAYLOAD = b"relay-lab-flow"


def main():
    dst, first, flows, packets = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    socks = []
    for i in range(flows):
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.bind(("", first + i))
        socks.append(s)
    sent = 0
    for _ in range(packets):
        for s in socks:
            s.sendto(PAYLOAD, (dst, 9))
            sent += 1
        # A round at a time: no queue along the path overflows.
        time.sleep(0.02)
    print(f"sent {sent}")


if __name__ == "__main__":
    main()
