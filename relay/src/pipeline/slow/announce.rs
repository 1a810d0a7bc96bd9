//! What the slow path sends unasked, or soon after being asked: gratuitous ARP for our
//! IPv4 addresses at start (RFC 5227 section 1.1) and router advertisements answering
//! solicitations (RFC 4861 section 6.2.6).
use crate::pipeline::model::counters::Event;
use crate::pipeline::model::PacketBuf;

use super::neigh;
use super::{SlowIo, SlowPath, MIN_DELAY_BETWEEN_RAS};

impl<B: PacketBuf> SlowPath<B> {
    /// Gratuitous ARP for each port's address, the 6to4 endpoints and the automatic
    /// mechanisms' addresses on its subnet.
    pub(super) fn announce(&mut self, io: &mut impl SlowIo<B>) {
        let mut frames = Vec::new();
        for (i, port) in self.host.ports.iter().enumerate() {
            let (Some(own), Ok(i)) = (port.ipv4.filter(|_| port.configured), u16::try_from(i)) else { continue };
            let on_subnet = |&e: &u32| e != own && io.tables().v4_next_hop(e) == Some((i, e));
            let endpoints = self.host.endpoints.iter().copied().filter(on_subnet);
            for addr in std::iter::once(own).chain(endpoints).chain(port.mechanism_v4.iter().copied()) {
                frames.push((i, neigh::arp_announcement(port, addr)));
            }
        }
        for (port, frame) in frames {
            self.send_frame(port, &frame, Event::ArpAnnouncements, io);
        }
    }

    /// A router solicitation on `port`: advertise now, or as soon as the last one is far
    /// enough behind.
    pub(super) fn advertise_soon(&mut self, port: u16, now: u64) {
        for a in self.adverts.iter_mut().filter(|a| a.port == port) {
            let earliest = a.last.map_or(now, |l| now.max(l.saturating_add(MIN_DELAY_BETWEEN_RAS)));
            a.next = a.next.min(earliest);
        }
    }
}
