#!/usr/bin/env python3
"""Writes the seed inputs of every fuzz target into seeds/<target>/ (docs/fuzzing.md).

The fuzzers start from these and `cargo fuzz cmin` minimises what they grow into
corpus/<target>/. Frames follow the addresses of the pipeline target's configurations
(tools/fuzz-checks/src/check/configs.rs)."""
import os, re, socket, struct

HERE = os.path.dirname(os.path.abspath(__file__))

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def v6(a): return socket.inet_pton(socket.AF_INET6, a)
def v4(a): return socket.inet_aton(a)
def mac(m): return bytes(int(x, 16) for x in m.split(":"))

PORT0, PORT1 = mac("02:00:00:00:00:a0"), mac("02:00:00:00:00:a1")
GW4, HOST = mac("02:00:00:00:01:01"), mac("02:00:00:00:02:05")

def eth(dst, src, et, payload, vlan=None):
    tag = struct.pack("!HH", 0x8100, vlan) if vlan is not None else b""
    return dst + src + tag + struct.pack("!H", et) + payload

def ipv4(src, dst, proto, payload, ttl=64):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, ttl, proto, 0, v4(src), v4(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload

def ipv6(src, dst, nh, payload, hlim=64):
    return struct.pack("!IHBB", 6 << 28, len(payload), nh, hlim) + v6(src) + v6(dst) + payload

def icmp6(src, dst, typ, code, body):
    msg = struct.pack("!BBH", typ, code, 0) + body
    pseudo = v6(src) + v6(dst) + struct.pack("!IxxxB", len(msg), 58)
    c = csum(pseudo + msg)
    return msg[:2] + struct.pack("!H", c) + msg[4:]

def echo6(src, dst, hlim=64, size=16):
    return ipv6(src, dst, 58, icmp6(src, dst, 128, 0, struct.pack("!HH", 7, 1) + bytes(size)), hlim)

def udp6(src, dst, hlim=64, size=32):
    return ipv6(src, dst, 17, struct.pack("!HHHH", 4000, 5000, 8 + size, 0) + bytes(size), hlim)

def icmp4(typ, code, rest, body):
    m = struct.pack("!BBH", typ, code, 0) + rest + body
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]

def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + v4(spa) + tha + v4(tpa)

def ns(src, dst, target, lladdr):
    opt = struct.pack("!BB", 1, 1) + lladdr
    return ipv6(src, dst, 58, icmp6(src, dst, 135, 0, bytes(4) + v6(target) + opt), 255)

# (port, frame) per name; the pipeline seeds pick configurations by index.
R_WAN = [  # config 0: 6to4 router R, V = 198.51.100.7
    (1, eth(PORT1, HOST, 0x86dd, udp6("2002:c633:6407:1::5", "2002:cb00:7101::5"))),
    (1, eth(PORT1, HOST, 0x86dd, udp6("2002:c633:6407:1::5", "2001:db8::1"))),
    (1, eth(PORT1, HOST, 0x86dd, udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", hlim=1))),
    (1, eth(PORT1, HOST, 0x86dd, udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", size=1480))),
    (0, eth(PORT0, GW4, 0x0800, ipv4("203.0.113.1", "198.51.100.7", 41, udp6("2002:cb00:7101::5", "2002:c633:6407:1::5")))),
    (0, eth(PORT0, GW4, 0x0800, ipv4("203.0.113.1", "198.51.100.7", 41, echo6("2002:cb00:7101::5", "2002:c633:6407:1::1")))),
    (0, eth(PORT0, GW4, 0x0800, ipv4("192.88.99.1", "198.51.100.7", 1, icmp4(3, 4, struct.pack("!HH", 0, 1280),
        ipv4("198.51.100.7", "203.0.113.1", 41, udp6("2002:c633:6407:1::5", "2002:cb00:7101::5"))[:68])))),
    (0, eth(PORT0, GW4, 0x0800, ipv4("192.88.99.1", "198.51.100.7", 1, icmp4(11, 0, bytes(4),
        ipv4("198.51.100.7", "203.0.113.1", 41, udp6("2002:c633:6407:1::5", "2002:cb00:7101::5"))[:68])))),
    (0, eth(b"\xff" * 6, GW4, 0x0806, arp(1, GW4, "198.51.100.1", bytes(6), "198.51.100.7"))),
    (1, eth(mac("33:33:ff:00:00:01"), HOST, 0x86dd, ns("2002:c633:6407:1::5", "ff02::1:ff00:1", "2002:c633:6407:1::1", HOST))),
]
RELAY = [  # config 1: anycast relay 198.51.100.9, native port 1
    (1, eth(PORT1, mac("02:00:00:00:03:01"), 0x86dd, udp6("2001:db8:1::5", "2002:cb00:7101::5"))),
    (0, eth(PORT0, GW4, 0x0800, ipv4("203.0.113.1", "192.88.99.1", 41, udp6("2002:cb00:7101::5", "2001:db8:1::5")))),
    (0, eth(PORT0, GW4, 0x0800, ipv4("203.0.113.1", "198.51.100.9", 41, udp6("2002:cb00:7101::5", "2001:db8:1::5", hlim=1)))),
]
ALL = [  # config 2: every mechanism, WAN 198.51.100.20, LAN 2001:db8:20::1/64
    (1, eth(PORT1, HOST, 0x86dd, udp6("2001:db8:20::5", "2001:db8:50::1"))),
    (0, eth(PORT0, GW4, 0x0800, ipv4("203.0.113.50", "198.51.100.20", 41, udp6("2001:db8:50::1", "2001:db8:20::5")))),
    (1, eth(PORT1, HOST, 0x86dd, udp6("2001:db8:20::5", "2001:db8:6400:6407::1"))),
    (0, eth(PORT0, GW4, 0x0800, ipv4("198.51.100.7", "198.51.100.23", 41, udp6("2001:db8:6400:7::1", "2001:db8:20::5")))),
    (1, eth(PORT1, HOST, 0x86dd, udp6("2001:db8:20::5", "2001:db8:5e::200:5efe:c633:6407"))),
    (0, eth(PORT0, GW4, 0x0800, ipv4("198.51.100.7", "198.51.100.22", 41, udp6("2001:db8:5e::200:5efe:c633:6407", "2001:db8:20::5")))),
    (1, eth(PORT1, HOST, 0x86dd, udp6("2001:db8:20::5", "::198.51.100.7"))),
    (0, eth(PORT0, GW4, 0x0800, ipv4("198.51.100.7", "198.51.100.21", 41, udp6("::198.51.100.7", "2001:db8:20::5")))),
    (1, eth(PORT1, HOST, 0x86dd, udp6("2001:db8:20::5", "2001:db8:64::c633:6407"))),
    (0, eth(PORT0, GW4, 0x0800, ipv4("198.51.100.7", "198.51.100.20", 41, udp6("2001:db8:64::c633:6407", "2001:db8:20::5")))),
    (0, eth(PORT0, GW4, 0x0800, ipv4("203.0.113.50", "198.51.100.20", 41, udp6("2001:db8:50::1", "2001:db8:20::5", size=1400)))),
]
FULL = [  # config 3: router and relay, VLAN 42 on port 1, uRPF, 3 ports
    (1, eth(PORT1, HOST, 0x86dd, udp6("2002:c633:6407:1::5", "2001:db8:50::1"), vlan=42)),
    (2, eth(mac("02:00:00:00:00:a2"), mac("02:00:00:00:03:01"), 0x86dd, udp6("2001:db8:9::1", "2002:c633:6407:1::5"))),
    (0, eth(mac("02:00:00:00:00:10"), GW4, 0x0800, ipv4("203.0.113.1", "198.51.100.7", 41, udp6("2002:cb00:7101::5", "2002:c633:6407:1::5")))),
]
KERNEL = [  # config 4: control TAP on port 0
    (0, eth(PORT0, GW4, 0x0800, ipv4("198.51.100.1", "198.51.100.9", 6, bytes(20)))),
    (0, eth(PORT0, GW4, 0x86dd, ipv6("2001:db8:ff::1", "2001:db8:ff::9", 6, bytes(20)))),
    (0, eth(PORT0, GW4, 0x0800, ipv4("198.51.100.1", "198.51.100.9", 1, icmp4(8, 0, struct.pack("!HH", 1, 1), bytes(8))))),
]

def burst(config, ms, frames):
    out = bytes([config, ms])
    for port, f in frames:
        out += bytes([0x80 | port]) + struct.pack("!H", len(f)) + f
    return out

def write(target, name, data):
    d = os.path.join(HERE, "seeds", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def main():
    sets = [R_WAN, RELAY, ALL, FULL, KERNEL]
    for c, frames in enumerate(sets):
        write("pipeline", "config%d-all" % c, burst(c, 0, frames))
        for k, fr in enumerate(frames):
            write("pipeline", "config%d-%02d" % (c, k), burst(c, 0, [fr]))
            write("wire", "config%d-%02d" % (c, k), fr[1])
    write("pipeline", "config0-long-burst", burst(0, 5, R_WAN * 14))

    ctl = [
        "ping\n", "help\n", "stats\nroutes\nneigh\ntunnels\n", "bogus\n", "route\n",
        "route add 2001:db8:1::/48 via 2001:db8:20::5 port 1\n",
        "route add 2001:db8:2::/48 port 1\nroute del 2001:db8:2::/48\n",
        "route add 2002::/16 6to4\nroute add 2001:db8:3::/48 via 2002:c633:6407::1\n",
        "route add 2001:db8:4::/48 tunnel 0\nroute add 2001:db8:5::/48 blackhole\n",
        "route add 2001:db8:5e::/64 isatap 198.51.100.22\nroute add ::/96 ipv4-compatible\n",
        "route add 2001:db8:6400::/48 6rd 2001:db8:6400::/48\nroute add 2001:db8:64::/64 6over4 198.51.100.20\n",
        "tunnel set 1 local 198.51.100.20 remote 203.0.113.9 name b mtu 1400 ttl 32 dscp copy\ntunnel del 1\n",
        "batch\nroute add 2001:db8:7::/48 port 1\ntunnel set 2 local 198.51.100.20 remote 203.0.113.7\nroute add 2001:db8:8::/48 tunnel 2\nend\n",
        "batch\nroute add 2001:db8:7::/48 port 1\nroute add 2001:db8:9::/48 port 9\nend\n",
        "batch\nping\nend\n", "batch\nroute add 2001:db8:7::/48 port 1\n",
        "route add 2001:db8:1::/48 via 2001:db8:20::5 port 1", "\xff\xfe\n",
        "x" * 5000 + "\nping\n",
    ]
    for k, t in enumerate(ctl):
        write("ctl", "seed-%02d" % k, t.encode("latin-1") if "\xff" in t else t.encode())

    # config: every configuration of the pipeline target, and relayd's embedded default's
    # [pipeline] table.
    configs = open(os.path.join(HERE, "../tools/fuzz-checks/src/check/configs.rs")).read()
    for k, toml in enumerate(re.findall(r'r#"(.*?)"#', configs, re.S)):
        write("config", "config%d.toml" % k, toml.encode())
    write("config", "empty.toml", b"")
    write("config", "routes-only.toml", b'[[interface]]\nport = 0\nipv6 = ["2001:db8::1/64"]\n[[route]]\nadd = "::/0 via 2001:db8::2 port 0"\n[[route]]\nadd = "::/0 blackhole"\n')

    def pcap(records, be=False, ns=False):
        e = ">" if be else "<"
        magic = 0xa1b23c4d if ns else 0xa1b2c3d4
        out = struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, 65535, 1)
        for r in records:
            out += struct.pack(e + "IIII", 0, 0, len(r), len(r)) + r
        return out
    frames = [fr for _, fr in R_WAN[:3]]
    write("pcap", "empty.pcap", pcap([]))
    write("pcap", "le.pcap", pcap(frames))
    write("pcap", "be.pcap", pcap(frames, be=True))
    write("pcap", "ns.pcap", pcap(frames, ns=True))
    write("pcap", "truncated.pcap", pcap(frames)[:-3])
    write("pcap", "pcapng", b"\x0a\x0d\x0d\x0a" + bytes(28))

if __name__ == "__main__":
    main()
