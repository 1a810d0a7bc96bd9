#!/usr/bin/env python3
"""Distinct UDP flows for the anycast lab's ECMP check.

  udp_flows.py DST FIRST_PORT FLOWS PACKETS
  udp_flows.py sink EXPECTED

Sends PACKETS datagrams on each of FLOWS flows to DST port 9 (discard), flow i from
source port FIRST_PORT + i, and prints `sent N`. The upstream hashes each flow to one
relay; the relays' counters tell how they were spread.

The sink listens on port 9 (prints `listening`), counts the datagrams that carry the
flows' payload until EXPECTED came or none came for IDLE_S seconds, and prints
`received N`: what arrived, whatever else the relays carried meanwhile.
"""
import socket
import sys
import time

PAYLOAD = b"relay-lab-flow"
PORT = 9
IDLE_S = 1.0


def sink(expected):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::", PORT))
    s.settimeout(IDLE_S)
    print("listening", flush=True)
    received = 0
    while received < expected:
        try:
            data, _ = s.recvfrom(2048)
        except socket.timeout:
            break
        if data == PAYLOAD:
            received += 1
    print(f"received {received}", flush=True)


def main():
    if sys.argv[1] == "sink":
        sink(int(sys.argv[2]))
        return
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
            s.sendto(PAYLOAD, (dst, PORT))
            sent += 1
        # A round at a time: no queue along the path overflows.
        time.sleep(0.02)
    print(f"sent {sent}")


if __name__ == "__main__":
    main()
