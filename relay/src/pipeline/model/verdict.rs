//! What happens to each packet, and the table of every reason a packet is dropped.

/// The pipeline's decision for one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send on this port; the buffer holds the complete frame (L2 header rewritten).
    Tx(u16),
    /// Hand the unchanged frame to the slow path: ARP, ND, echo to us, packets waiting for a next hop.
    Punt,
    /// Hand the unchanged frame to the kernel through the ingress port's control TAP:
    /// addressed to us, not answered by relayd (BGP, BFD, SSH, other ICMP).
    Kernel,
    /// An outer IPv4 fragment, copied into the datagram being reassembled: the buffer is
    /// free to go (`fast/reassembly.rs`).
    Held,
    Drop(DropReason),
}

/// A counter name from [`Counters::names`](super::Counters::names) that counts drops.
pub fn is_drop_counter(name: &str) -> bool {
    name.strip_prefix("drop_").is_some_and(|r| DropReason::from_name(r).is_some())
}

/// One macro lists every drop reason once: variant, stable counter name, description
/// (VPP's `foreach_ipip_error`). Names are API: counters, telemetry and tests use them.
macro_rules! drop_reasons {
    ($($variant:ident => $name:literal, $desc:literal;)*) => {
        /// Why a packet was dropped. Each reason has its own counter.
        #[repr(u8)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum DropReason { $($variant),* }

        impl DropReason {
            pub const ALL: &'static [DropReason] = &[$(DropReason::$variant),*];
            pub const COUNT: usize = Self::ALL.len();

            /// Stable snake_case name.
            pub const fn name(self) -> &'static str {
                match self { $(DropReason::$variant => $name),* }
            }

            /// The counter name: `drop_` + [`name`](Self::name).
            pub const fn counter_name(self) -> &'static str {
                match self { $(DropReason::$variant => concat!("drop_", $name)),* }
            }

            pub const fn description(self) -> &'static str {
                match self { $(DropReason::$variant => $desc),* }
            }

            pub fn from_name(name: &str) -> Option<DropReason> {
                Self::ALL.iter().copied().find(|r| r.name() == name)
            }
        }
    };
}

drop_reasons! {
    // Link layer.
    PortUnconfigured => "port_unconfigured", "frame on a port the configuration does not list";
    L2Truncated => "l2_truncated", "frame shorter than its Ethernet or 802.1Q header";
    L2NotForUs => "l2_not_for_us", "unicast destination MAC is not the port's";
    VlanMismatch => "vlan_mismatch", "802.1Q tag missing, unexpected, or of another VLAN than the port's";
    UnknownEthertype => "unknown_ethertype", "EtherType other than IPv4, IPv6 and ARP";
    // Local delivery.
    MulticastIgnored => "multicast_ignored", "multicast or broadcast we neither route nor serve (MLD, RA, DHCP, ...)";
    LocalUnsupported => "local_unsupported", "addressed to us, but no local service handles it (ARP, ND and echo only) and the port has no control TAP";
    // Control-plane policing of what goes to the kernel (the control TAPs).
    KernelPolicedPeer => "kernel_policed_peer", "for the kernel from a routing peer, over the peer rate (pipeline.control_plane.peer_rate_pps)";
    KernelDuplicateAnswer => "kernel_duplicate_answer", "ARP reply or neighbour advertisement from the kernel's control TAP for an address relayd answers for already";
    KernelPolicedOther => "kernel_policed_other", "for the kernel from a non-peer, over the other rate (pipeline.control_plane.other_rate_pps)";
    // IPv4.
    Ipv4Malformed => "ipv4_malformed", "IPv4 header: bad version, header or total length, or truncated";
    Ipv4BadChecksum => "ipv4_bad_checksum", "IPv4 header checksum does not verify";
    Ipv4NotForUs => "ipv4_not_for_us", "IPv4 unicast not addressed to us (IPv4 is not routed)";
    Ipv4NoRoute => "ipv4_no_route", "no connected subnet or gateway reaches the tunnel endpoint";
    // Outer IPv4 reassembly (RFC 4213 3.6, RFC 791): each drops the whole datagram.
    FragOverlap => "frag_overlap", "IPv4 fragment overlaps one received before with different bytes";
    FragTooBig => "frag_too_big", "IPv4 fragments reach past pipeline.reassembly.max_datagram";
    FragTooMany => "frag_too_many", "more than 64 IPv4 fragments for one datagram";
    FragMalformed => "frag_malformed", "IPv4 fragment empty, not a multiple of 8 bytes before the last, or contradicting the datagram's end";
    FragTimeout => "frag_timeout", "IPv4 datagram not complete within pipeline.reassembly.timeout_ms of its first fragment";
    FragTableFull => "frag_table_full", "pipeline.reassembly.max_in_flight datagrams already being reassembled (or reassembly off)";
    FragMemoryFull => "frag_memory_full", "pipeline.reassembly.memory bytes of fragments already held";
    FragNotTunnel => "frag_not_tunnel", "IPv4 fragment to us that is not protocol 41, on a port without a control TAP (only tunnel datagrams are reassembled)";
    // IPv6.
    Ipv6Malformed => "ipv6_malformed", "IPv6 header: bad version or payload length, or truncated";
    Ipv6SrcInvalid => "ipv6_src_invalid", "IPv6 source is multicast, unspecified or loopback";
    Ipv6DstInvalid => "ipv6_dst_invalid", "IPv6 destination is unspecified or loopback";
    Ipv6LinkLocal => "ipv6_link_local", "link-local source or destination, never forwarded";
    HopLimitExceeded => "hop_limit_exceeded", "hop limit would reach 0 (ICMPv6 Time Exceeded)";
    NoRoute => "no_route", "no IPv6 route (ICMPv6 Destination Unreachable)";
    RouteBlackhole => "route_blackhole", "the route is a blackhole";
    MtuExceeded => "mtu_exceeded", "larger than the port, tunnel or path MTU (ICMPv6 Packet Too Big)";
    NeighbourMissing => "neighbour_missing", "no link-layer address for the next hop, and no room to wait for one (resolution punt rate)";
    UrpfFailed => "urpf_failed", "source not routed back through the ingress port (strict uRPF)";
    NoHeadroom => "no_headroom", "buffer headroom too small for the new headers";
    // RFC 3964 section 5.3 address sanity.
    Ipv4SrcMartian => "ipv4_src_martian", "outer IPv4 source is private, special-use, a bogon or our subnet broadcast";
    Ipv4DstMartian => "ipv4_dst_martian", "tunnel endpoint IPv4 is private, special-use, a bogon or our subnet broadcast";
    Ipv6SrcMartian => "ipv6_src_martian", "IPv6 source in ::/16, fe80::/10, fec0::/10, ff00::/8 or 2002:<martian V>::/48";
    Ipv6DstMartian => "ipv6_dst_martian", "IPv6 destination in ::/16, fe80::/10, fec0::/10, ff00::/8 or 2002:<martian V>::/48";
    // Decapsulation (RFC 4213, RFC 3964 section 5).
    DecapNotEndpoint => "decap_not_endpoint", "protocol 41 to an IPv4 address of ours that terminates no tunnel";
    DecapTunnelSrcMismatch => "decap_tunnel_src_mismatch", "protocol 41 to a configured tunnel's local address, not from its remote (RFC 4213 3.6)";
    DecapInnerMalformed => "decap_inner_malformed", "inner IPv6 header bad or longer than the outer payload";
    DecapInnerSrcInvalid => "decap_inner_src_invalid", "inner source multicast, loopback, IPv4-compatible or IPv4-mapped (RFC 4213 3.6)";
    DecapDstV4Mismatch => "decap_dst_v4_mismatch", "inner 6to4 destination does not embed the outer destination";
    DecapSrcV4Mismatch => "decap_src_v4_mismatch", "inner 6to4 source does not embed the outer source";
    DecapNativeToNative => "decap_native_to_native", "neither inner address is 6to4: native to native has no business in the tunnel";
    DecapNotRelay => "decap_not_relay", "6to4 source to a native destination, but not sent to a relay address of ours";
    EcnCeNotEct => "ecn_ce_not_ect", "outer ECN CE on an inner Not-ECT packet (RFC 6040)";
    // Decapsulation by the other automatic mechanisms (RFC 3964 6.1, RFC 5214, RFC 5969, RFC 2529).
    DecapNoMechanism => "decap_no_mechanism", "inner source fits no prefix of the mechanism bound to the outer destination (RFC 3964 6.1)";
    DecapV4CompatSrcMismatch => "decap_ipv4_compatible_src_mismatch", "inner IPv4-compatible source ::V does not embed the outer source";
    DecapIsatapSrcMismatch => "decap_isatap_src_mismatch", "inner ISATAP source does not embed the outer source, which is no potential router (RFC 5214 7.3)";
    Decap6rdSrcMismatch => "decap_6rd_src_mismatch", "inner 6rd source does not embed the outer source (RFC 5969 8)";
    Decap6over4SrcMismatch => "decap_6over4_src_mismatch", "inner 6over4 source ::V does not embed the outer source (RFC 2529 4)";
    Decap6over4GroupMismatch => "decap_6over4_group_mismatch", "IPv4 group 239.192.x.y does not carry an IPv6 group ending in x.y (RFC 2529 6)";
    // Encapsulation (RFC 3056, RFC 3964 section 5).
    EncapSrcV4Mismatch => "encap_src_v4_mismatch", "6to4 source does not embed a tunnel address of ours";
    EncapNotRelay => "encap_not_relay", "native source to a 6to4 destination, but the relay role is off";
    EncapNativeToNative => "encap_native_to_native", "neither address is 6to4: native to native has no business in the tunnel";
    EncapDstIsSelf => "encap_dst_is_self", "tunnel endpoint is one of our own IPv4 addresses";
    EncapNotIsatap => "encap_not_isatap", "destination on an ISATAP link without an ISATAP interface identifier (RFC 5214 6.1)";
    TunnelToTunnel => "tunnel_to_tunnel", "decapsulated packet routed into a tunnel again (a relay does not relay 6to4 to 6to4)";
    // Loops between automatic tunnels (RFC 6324).
    LoopSrcEmbedsOwnV4 => "loop_src_embeds_own_v4", "off-link IPv6 source embeds an IPv4 address of ours (RFC 6324)";
    LoopDstEmbedsOwnV4 => "loop_dst_embeds_own_v4", "IPv6 destination not ours embeds an IPv4 address of ours (RFC 6324)";
    // ICMPv4 errors about our tunnel packets (RFC 4213 3.4).
    Icmp4Malformed => "icmp4_malformed", "ICMPv4 message truncated";
    Icmp4BadChecksum => "icmp4_bad_checksum", "ICMPv4 checksum does not verify";
    Icmp4NotOurs => "icmp4_not_ours", "ICMPv4 error that quotes no protocol-41 packet of ours";
    Icmp4QuoteShort => "icmp4_quote_short", "ICMPv4 error quotes less than the inner IPv6 header";
    Icmp4RateLimited => "icmp4_rate_limited", "ICMPv4 error not relayed as ICMPv6: rate limit";
    // Slow path (ARP, ND, echo).
    ArpMalformed => "arp_malformed", "ARP not Ethernet/IPv4 or truncated";
    ArpNotRequest => "arp_not_request", "ARP operation other than request or reply";
    ArpNotForUs => "arp_not_for_us", "ARP request or reply for an address that is not ours on that port, not an announcement";
    NdMalformed => "nd_malformed", "neighbour discovery message truncated, with bad options, code or flags";
    NdBadHopLimit => "nd_bad_hop_limit", "neighbour discovery with hop limit other than 255";
    NdBadChecksum => "nd_bad_checksum", "neighbour discovery ICMPv6 checksum does not verify";
    NdNotForUs => "nd_not_for_us", "neighbour solicitation for an address that is not ours";
    NdIgnored => "nd_ignored", "RA, redirect, or RS on a port without router advertisements";
    NdLinkLayerMalformed => "nd_link_layer_malformed", "6over4 link-layer address option not 8 octets of type, length 1, two zero octets and the IPv4 address (RFC 2529 5)";
    NdTunnelIgnored => "nd_tunnel_ignored", "neighbour or router discovery through a tunnel that has none to answer (6to4, 6rd, IPv4-compatible; RS off ISATAP; RA, redirect)";
    Icmp6Malformed => "icmp6_malformed", "ICMPv6 message truncated";
    Icmp6BadChecksum => "icmp6_bad_checksum", "ICMPv6 checksum does not verify";
    // Next-hop resolution (slow path).
    NeighbourUnresolved => "neighbour_unresolved", "waited for a next hop that never answered ARP/ND (RFC 4861 7.2.2)";
    NeighbourQueueFull => "neighbour_queue_full", "too many packets waiting for one next hop: the oldest is dropped";
    NeighbourTableFull => "neighbour_table_full", "no room for another learned neighbour";
    NeighbourNotCached => "neighbour_not_cached", "advertisement or announcement about a neighbour we hold no entry for (RFC 4861 7.2.5)";
    NeighbourBogus => "neighbour_bogus", "ARP or ND about an address that is ours or not on the port's link, or giving a multicast or zero MAC";
    NeighbourRouteChanged => "neighbour_route_changed", "a packet waiting for its next hop no longer routes out of that port";
    SlowTxFailed => "slow_tx_failed", "slow-path frame not sent: no free mbuf, or the worker's inject ring was full";
}
