//! The slow path as an object for the control core: [`local`](super::local) with its own
//! counters.
use super::counters::{Counters, Event};
use super::host::Host;
use super::local;
use super::settings::Settings;
use super::tables::Tables;
use super::verdict::Verdict;
use super::PacketBuf;
use crate::wire::EthernetAddress;

/// Answers punted frames (ARP, ND, echo) in place and counts what it did: one event per
/// reply (`arp_replies`, `nd_adverts`, `echo4_replies`, `echo6_replies`, and `tx`), one
/// drop reason per frame it could not answer (and `dropped`).
/// [`local::answer`], counted.
pub(crate) fn answer_counted<B: PacketBuf>(host: &Host, counters: &mut Counters, buf: &mut B) -> Verdict {
    match local::answer(host, buf) {
        Ok((port, event)) => {
            counters.count(event);
            counters.count(Event::Tx);
            Verdict::Tx(port)
        }
        Err(r) => {
            counters.count_drop(r);
            Verdict::Drop(r)
        }
    }
}

pub struct SlowPath {
    host: Host,
    counters: Counters,
}

impl SlowPath {
    pub fn new(settings: Settings, port_macs: &[impl Into<EthernetAddress> + Copy]) -> SlowPath {
        SlowPath { host: Host::new(&settings, port_macs), counters: Counters::new() }
    }

    /// `Tx(port)`: the buffer now holds the reply. The tables are where routed replies
    /// and outer-fragment reassembly will look up; today every reply goes back out of
    /// the port it came from.
    pub fn handle<B: PacketBuf>(&mut self, _tables: &Tables, buf: &mut B) -> Verdict {
        answer_counted(&self.host, &mut self.counters, buf)
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Replies sent.
    pub fn replies(&self) -> u64 {
        self.counters.event(Event::Tx)
    }

    /// Frames dropped.
    pub fn dropped(&self) -> u64 {
        self.counters.event(Event::Dropped)
    }
}
