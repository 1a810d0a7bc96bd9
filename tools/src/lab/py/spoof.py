#!/usr/bin/env python3
"""Spoofed protocol-41 packets for the relay lab's rogue IPv4 host.

  spoof.py OUTER_SRC,OUTER_DST,INNER_SRC,INNER_DST,COUNT ...

Each packet is IPv4 (protocol 41) around an ICMPv6 echo request whose payload carries
MARKER, so that a capture at a host can tell a spoofed packet that got through.
Sent through the kernel (raw socket with the IPv4 header included): routing and ARP
are the rogue host's own.
"""
import sys

from scapy.all import ICMPv6EchoRequest, IP, IPv6, L3RawSocket, conf, send

MARKER = b"relay-lab-spoof"


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    conf.L3socket = L3RawSocket
    for case in argv[1:]:
        osrc, odst, isrc, idst, count = case.split(",")
        pkt = IP(src=osrc, dst=odst, proto=41) / IPv6(src=isrc, dst=idst, hlim=64) / ICMPv6EchoRequest(id=0x5bad, data=MARKER)
        send(pkt, count=int(count), verbose=False)
        print(f"sent {count} {osrc} > {odst} [{isrc} > {idst}]", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
