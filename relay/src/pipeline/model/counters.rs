//! Per-worker counters: plain `u64`s, one owner, no atomics. The runtime copies them out.

use super::verdict::DropReason;

macro_rules! events {
    ($($variant:ident => $name:literal, $desc:literal;)*) => {
        /// Things the pipeline counts besides drops.
        #[repr(u8)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Event { $($variant),* }

        impl Event {
            pub const ALL: &'static [Event] = &[$(Event::$variant),*];
            pub const COUNT: usize = Self::ALL.len();

            pub const fn name(self) -> &'static str {
                match self { $(Event::$variant => $name),* }
            }

            pub const fn description(self) -> &'static str {
                match self { $(Event::$variant => $desc),* }
            }
        }
    };
}

events! {
    Rx => "rx", "packets given to the pipeline";
    Tx => "tx", "packets with a Tx verdict (forwarded, encapsulated, decapsulated, ICMP errors)";
    Dropped => "dropped", "packets dropped, all reasons";
    Punted => "punted", "packets handed to the slow path";
    ToKernel => "to_kernel", "packets for us handed to the kernel through the ingress port's control TAP";
    FragHeld => "frag_held", "outer IPv4 fragments copied into a datagram being reassembled (their buffers freed)";
    FragMerged => "frag_merged", "held fragments that became part of a reassembled datagram";
    FragReassembled => "frag_reassembled", "outer IPv4 datagrams reassembled and passed on to decapsulation";
    Forwarded => "forwarded", "native IPv6 sent out of a port";
    Encapsulated => "encapsulated", "IPv6 sent into a tunnel";
    Decapsulated => "decapsulated", "IPv6 taken out of a tunnel";
    Encap6to4 => "encap_6to4", "IPv6 sent into 6to4 (RFC 3056)";
    EncapConfigured => "encap_configured", "IPv6 sent into configured tunnels (RFC 4213)";
    EncapIpv4Compatible => "encap_ipv4_compatible", "IPv6 sent into the IPv4-compatible tunnel";
    EncapIsatap => "encap_isatap", "IPv6 sent onto ISATAP links (RFC 5214)";
    Encap6rd => "encap_6rd", "IPv6 sent into 6rd domains (RFC 5969)";
    Encap6over4 => "encap_6over4", "IPv6 sent onto 6over4 links (RFC 2529)";
    Decap6to4 => "decap_6to4", "IPv6 taken out of 6to4";
    DecapConfigured => "decap_configured", "IPv6 taken out of configured tunnels";
    DecapIpv4Compatible => "decap_ipv4_compatible", "IPv6 taken out of the IPv4-compatible tunnel";
    DecapIsatap => "decap_isatap", "IPv6 taken out of ISATAP links";
    Decap6rd => "decap_6rd", "IPv6 taken out of 6rd domains";
    Decap6over4 => "decap_6over4", "IPv6 taken out of 6over4 links";
    Icmp6TimeExceeded => "icmp6_time_exceeded", "ICMPv6 Time Exceeded sent";
    Icmp6DestUnreachable => "icmp6_dest_unreachable", "ICMPv6 Destination Unreachable sent";
    Icmp6PacketTooBig => "icmp6_packet_too_big", "ICMPv6 Packet Too Big sent";
    Icmp4Translated => "icmp4_translated", "ICMPv4 errors about our tunnel packets relayed as ICMPv6";
    IcmpRateLimited => "icmp_rate_limited", "ICMP errors not sent: token bucket empty";
    IcmpUnroutable => "icmp_unroutable", "ICMP errors not sent: the error itself could not be routed";
    PmtuLearned => "pmtu_learned", "path MTUs learned from ICMPv4 fragmentation needed";
    EcnCeMarked => "ecn_ce_marked", "inner packets marked CE from the outer header (RFC 6040)";
    ArpReplies => "arp_replies", "ARP replies sent";
    NdAdverts => "nd_adverts", "neighbour advertisements sent";
    Echo4Replies => "echo4_replies", "ICMPv4 echo replies sent";
    Echo6Replies => "echo6_replies", "ICMPv6 echo replies sent (native or encapsulated)";
    Unresolved => "unresolved", "packets handed to the slow path to wait for their next hop's link-layer address";
    Consumed => "consumed", "frames the slow path took in without answering: ARP replies, announcements, NA, RS";
    ArpLearned => "arp_learned", "ARP requests, replies and announcements a neighbour was learned or confirmed from";
    NdLearned => "nd_learned", "neighbour solicitations, advertisements and router solicitations a neighbour was learned or confirmed from";
    ArpRequests => "arp_requests", "ARP requests sent: next-hop resolution and reachability probes";
    ArpAnnouncements => "arp_announcements", "gratuitous ARP announcements of our addresses sent";
    NdSolicits => "nd_solicits", "neighbour solicitations sent: next-hop resolution and reachability probes";
    RouterAdverts => "router_adverts", "router advertisements sent";
    NeighResolved => "neigh_resolved", "next hops resolved: incomplete neighbour entries completed";
    NeighReleased => "neigh_released", "packets sent once their next hop was resolved";
    NeighExpired => "neigh_expired", "learned neighbours deleted: they stopped answering probes";
    NdAdverts6over4 => "nd_adverts_6over4", "neighbour advertisements sent over 6over4 links (RFC 2529)";
    NdAdvertsIsatap => "nd_adverts_isatap", "neighbour advertisements sent over ISATAP links (RFC 5214)";
    RouterAdvertsIsatap => "router_adverts_isatap", "router advertisements sent over ISATAP links, answering solicitations (RFC 5214)";
    NdSolicits6over4 => "nd_solicits_6over4", "neighbour solicitations sent over 6over4 links: resolution and reachability probes";
    NdLearned6over4 => "nd_learned_6over4", "6over4 neighbours learned or confirmed from their IPv4 link-layer address options";
}

/// One worker's counters: every [`Event`] and every [`DropReason`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counters {
    events: [u64; Event::COUNT],
    drops: [u64; DropReason::COUNT],
}

impl Default for Counters {
    fn default() -> Self {
        Counters { events: [0; Event::COUNT], drops: [0; DropReason::COUNT] }
    }
}

impl Counters {
    /// Number of values [`iter`](Self::iter) yields.
    pub const COUNT: usize = Event::COUNT + DropReason::COUNT;

    pub fn new() -> Counters {
        Counters::default()
    }

    #[inline(always)]
    pub fn event(&self, e: Event) -> u64 {
        self.events[e as usize]
    }

    #[inline(always)]
    pub fn drops(&self, r: DropReason) -> u64 {
        self.drops[r as usize]
    }

    #[inline(always)]
    pub(crate) fn count(&mut self, e: Event) {
        self.events[e as usize] += 1;
    }

    #[inline(always)]
    pub(crate) fn count_n(&mut self, e: Event, n: u64) {
        self.events[e as usize] += n;
    }

    /// Counts one drop for `r` (and the `dropped` total).
    #[inline(always)]
    pub(crate) fn count_drop(&mut self, r: DropReason) {
        self.drops[r as usize] += 1;
        self.events[Event::Dropped as usize] += 1;
    }

    /// Counts `n` for `r` without the `dropped` total: held fragments dropped with their
    /// datagram (their verdict was `Held`).
    #[inline(always)]
    pub(crate) fn count_reason_n(&mut self, r: DropReason, n: u64) {
        self.drops[r as usize] += n;
    }

    /// Counts `r` without the `dropped` total: the packet was turned into an ICMP error.
    #[inline(always)]
    pub(crate) fn count_reason(&mut self, r: DropReason) {
        self.drops[r as usize] += 1;
    }

    /// Stable names: every event, then `drop_<reason>` for every drop reason.
    pub fn names() -> impl Iterator<Item = &'static str> {
        Event::ALL
            .iter()
            .map(|e| e.name())
            .chain(DropReason::ALL.iter().map(|r| r.counter_name()))
    }

    /// `(name, value)` pairs in the order of [`names`](Self::names).
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        Self::names().zip(self.values())
    }

    pub fn values(&self) -> impl Iterator<Item = u64> + '_ {
        self.events.iter().chain(self.drops.iter()).copied()
    }

    /// Adds `other` (another worker's counters) into these.
    pub fn add(&mut self, other: &Counters) {
        for (a, b) in self.events.iter_mut().zip(other.events.iter()) {
            *a += b;
        }
        for (a, b) in self.drops.iter_mut().zip(other.drops.iter()) {
            *a += b;
        }
    }

    /// Name and value of every non-zero counter (for test failure messages and logs).
    pub fn nonzero(&self) -> Vec<(&'static str, u64)> {
        self.iter().filter(|&(_, v)| v != 0).collect()
    }
}
