//! rtnetlink through maintained crates (`netlink-sys` for the socket, `netlink-packet-route`
//! for the messages): no netlink byte is parsed or built by hand here. Two sockets: one for
//! requests (set a link, add an address, dump the routes), answered in order; one that
//! listens to the kernel's route notifications.
use std::io;
use std::net::IpAddr;

use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REPLACE, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressHeaderFlags, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::route::RouteMessage;
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// Receive buffer of the notification socket: a full BGP table arriving at once must not
/// overrun it in normal operation (an overrun still resyncs, see `fib`).
const EVENT_RCVBUF: usize = 32 << 20;
/// Dumps taken in a row while the table keeps changing under them, before the mirror settles
/// for an inconsistent one and resyncs again on its next turn.
pub const DUMP_TRIES: usize = 4;
/// The largest datagram the kernel sends on a route socket (a page, at most 32 KiB).
const RECV_CHUNK: usize = 64 << 10;

#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("netlink socket: {0}")]
    Socket(io::Error),
    #[error("{what}: {source}")]
    Refused { what: String, source: io::Error },
    #[error("netlink: {0}")]
    Decode(String),
}

/// A request socket: one request at a time, its answer read to the end.
pub struct Rtnl {
    sock: Socket,
    seq: u32,
    buf: Vec<u8>,
    /// The last answer carried NLM_F_DUMP_INTR: the table changed while the kernel dumped it,
    /// so the dump may miss routes.
    interrupted: bool,
}

impl Rtnl {
    pub fn open() -> Result<Rtnl, NetlinkError> {
        let mut sock = Socket::new(NETLINK_ROUTE).map_err(NetlinkError::Socket)?;
        sock.bind_auto().map_err(NetlinkError::Socket)?;
        sock.connect(&SocketAddr::new(0, 0)).map_err(NetlinkError::Socket)?;
        Ok(Rtnl { sock, seq: 0, buf: vec![0; RECV_CHUNK], interrupted: false })
    }

    /// Sends `msg` with `flags` and returns what the kernel answered: the messages of a dump,
    /// or nothing for an acknowledged change. A refusal is an error naming `what`.
    fn request(&mut self, what: &str, msg: RouteNetlinkMessage, flags: u16) -> Result<Vec<RouteNetlinkMessage>, NetlinkError> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        packet.finalize();
        let mut out = vec![0; packet.buffer_len()];
        packet.serialize(&mut out);
        self.sock.send(&out, 0).map_err(NetlinkError::Socket)?;
        let mut answers = Vec::new();
        self.interrupted = false;
        loop {
            let n = self.sock.recv(&mut &mut self.buf[..], 0).map_err(NetlinkError::Socket)?;
            let (messages, bad) = split(&self.buf[..n]);
            if bad > 0 {
                return Err(NetlinkError::Decode(format!("{bad} undecodable messages answering {what}")));
            }
            for m in messages {
                if m.header.sequence_number != self.seq {
                    continue;
                }
                self.interrupted |= m.header.flags & NLM_F_DUMP_INTR != 0;
                match m.payload {
                    NetlinkPayload::InnerMessage(inner) => answers.push(inner),
                    NetlinkPayload::Done(_) => return Ok(answers),
                    NetlinkPayload::Error(e) if e.code.is_none() => return Ok(answers),
                    NetlinkPayload::Error(e) => {
                        return Err(NetlinkError::Refused { what: what.to_owned(), source: e.to_io() })
                    }
                    NetlinkPayload::Noop | NetlinkPayload::Overrun(_) => {}
                    _ => {}
                }
            }
        }
    }

    /// Sets the MAC and MTU of interface `index`, and its state up or down.
    pub fn set_link(&mut self, index: u32, mac: [u8; 6], mtu: u32, up: bool) -> Result<(), NetlinkError> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.header.change_mask = LinkFlags::Up;
        m.header.flags = if up { LinkFlags::Up } else { LinkFlags::empty() };
        m.attributes = vec![LinkAttribute::Address(mac.to_vec()), LinkAttribute::Mtu(mtu)];
        self.request(&format!("set link {index}"), RouteNetlinkMessage::SetLink(m), NLM_F_ACK).map(|_| ())
    }

    /// Adds (or replaces) `addr/len` on interface `index`, without duplicate address
    /// detection: relayd owns the address on the wire already.
    pub fn add_address(&mut self, index: u32, addr: IpAddr, len: u8) -> Result<(), NetlinkError> {
        let mut m = AddressMessage::default();
        m.header.family = match addr {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        m.header.prefix_len = len;
        m.header.index = index;
        m.header.flags = AddressHeaderFlags::Nodad;
        m.attributes = vec![AddressAttribute::Local(addr), AddressAttribute::Address(addr)];
        let flags = NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
        self.request(&format!("add address {addr}/{len} on link {index}"), RouteNetlinkMessage::NewAddress(m), flags)
            .map(|_| ())
    }

    /// Every route of `family` the kernel holds (all tables; the caller filters), and
    /// whether the dump is consistent. A table that changes while the kernel dumps it (a
    /// routing daemon loading a full table) interrupts the dump, which may then miss routes:
    /// it is taken again, up to [`DUMP_TRIES`] times.
    pub fn dump_routes(&mut self, family: AddressFamily) -> Result<(Vec<RouteMessage>, bool), NetlinkError> {
        let mut tries = 0;
        loop {
            tries += 1;
            let mut m = RouteMessage::default();
            m.header.address_family = family;
            let answers = self.request("route dump", RouteNetlinkMessage::GetRoute(m), NLM_F_DUMP)?;
            if !self.interrupted || tries == DUMP_TRIES {
                let routes = answers
                    .into_iter()
                    .filter_map(|a| match a {
                        RouteNetlinkMessage::NewRoute(r) => Some(r),
                        _ => None,
                    })
                    .collect();
                return Ok((routes, !self.interrupted));
            }
        }
    }
}

/// A route change the kernel announced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteEvent {
    New(RouteMessage),
    Del(RouteMessage),
}

/// What one read of the notification socket gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Events {
    Changes { changes: Vec<RouteEvent>, undecodable: u64 },
    /// The kernel dropped notifications (ENOBUFS): what we hold may be stale.
    Overrun,
}

/// The route-notification socket (IPv6 routes), non-blocking.
pub struct RouteEvents {
    sock: Socket,
    buf: Vec<u8>,
}

impl RouteEvents {
    pub fn open() -> Result<RouteEvents, NetlinkError> {
        let mut sock = Socket::new(NETLINK_ROUTE).map_err(NetlinkError::Socket)?;
        sock.bind_auto().map_err(NetlinkError::Socket)?;
        sock.add_membership(libc::RTNLGRP_IPV6_ROUTE).map_err(NetlinkError::Socket)?;
        sock.add_membership(libc::RTNLGRP_IPV4_ROUTE).map_err(NetlinkError::Socket)?;
        // Past net.core.rmem_max when relayd may (CAP_NET_ADMIN), else as far as it allows.
        if nix::sys::socket::setsockopt(&sock, nix::sys::socket::sockopt::RcvBufForce, &EVENT_RCVBUF).is_err() {
            sock.set_rx_buf_sz(EVENT_RCVBUF).map_err(NetlinkError::Socket)?;
        }
        sock.set_non_blocking(true).map_err(NetlinkError::Socket)?;
        Ok(RouteEvents { sock, buf: vec![0; RECV_CHUNK] })
    }

    /// Drops every notification waiting: before a dump, each of them is older than the dump,
    /// which holds what they did. (Replayed after it, an add whose delete the overrun lost
    /// would leave a route the kernel no longer has.) Returns how many datagrams went.
    pub fn discard(&mut self) -> usize {
        let mut n = 0;
        loop {
            match self.sock.recv(&mut &mut self.buf[..], 0) {
                Ok(_) => n += 1,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => n += 1,
                Err(_) => return n,
            }
        }
    }

    /// Reads what is waiting, up to `max_reads` datagrams (so the control core is never held
    /// for long): the changes in order, or an overrun.
    pub fn poll(&mut self, max_reads: usize) -> Result<Events, NetlinkError> {
        let mut changes = Vec::new();
        let mut bad = 0;
        for _ in 0..max_reads {
            let n = match self.sock.recv(&mut &mut self.buf[..], 0) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => return Ok(Events::Overrun),
                Err(e) => return Err(NetlinkError::Socket(e)),
            };
            let (events, undecodable) = decode_events(&self.buf[..n]);
            changes.extend(events);
            bad += undecodable;
        }
        Ok(Events::Changes { changes, undecodable: bad })
    }
}

/// The route changes in one datagram (other messages are skipped), and how many messages
/// could not be decoded (counted by the caller, never fatal).
pub fn decode_events(datagram: &[u8]) -> (Vec<RouteEvent>, u64) {
    let (messages, bad) = split(datagram);
    let events = messages
        .into_iter()
        .filter_map(|m| match m.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(r)) => Some(RouteEvent::New(r)),
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelRoute(r)) => Some(RouteEvent::Del(r)),
            _ => None,
        })
        .collect();
    (events, bad)
}

/// The netlink messages of one datagram, and the number that did not decode. Each message's
/// length comes from the crate's checked header view, so one bad message skips only itself.
fn split(mut datagram: &[u8]) -> (Vec<NetlinkMessage<RouteNetlinkMessage>>, u64) {
    let mut out = Vec::new();
    let mut bad = 0;
    while !datagram.is_empty() {
        let Ok(header) = NetlinkBuffer::new_checked(datagram) else {
            // Not even a header: the rest of the datagram is unreadable.
            return (out, bad + 1);
        };
        let len = header.length() as usize;
        match NetlinkMessage::<RouteNetlinkMessage>::deserialize(datagram) {
            Ok(m) => out.push(m),
            Err(_) => bad += 1,
        }
        // Messages are 4-byte aligned within the datagram.
        let step = len.div_ceil(4) * 4;
        if len == 0 || step >= datagram.len() {
            break;
        }
        datagram = &datagram[step..];
    }
    (out, bad)
}

/// Interface index of `name` in this network namespace (from sysfs).
pub fn link_index(name: &str) -> io::Result<u32> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex"))?;
    text.trim().parse().map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("ifindex of {name}: {text:?}")))
}
