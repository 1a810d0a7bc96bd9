//! The egress L2 header, and moving a frame's start so that the egress headers fit in
//! front of its IPv6 packet.
use crate::pipeline::model::host::PortView;
use crate::wire::bytes::arr_mut;
use crate::wire::ethernet;

use super::PacketBuf;

/// The Ethernet (and 802.1Q, if the port has a VLAN) header of a frame sent on `port`.
#[inline(always)]
pub(crate) fn header(port: &PortView, dst: &[u8; 6], ethertype: u16) -> ethernet::Repr {
    ethernet::Repr { dst: *dst, src: port.mac, vlan: port.vlan, ethertype }
}

/// Moves the start of `buf`, whose IPv6 packet begins `at` bytes in, so that exactly
/// `front` bytes precede the packet: a received frame's own headers become the room for
/// the egress ones, so a native forward with the same L2 length moves nothing and an
/// encapsulation takes only the difference from the headroom. False (unchanged) without
/// the headroom.
#[inline(always)]
pub(crate) fn make_room<B: PacketBuf>(buf: &mut B, at: usize, front: usize) -> bool {
    if at >= front {
        buf.adj(at - front)
    } else {
        buf.prepend(front - at)
    }
}

/// Prepends `eth` to the frame in `buf`. False (unchanged) without headroom.
#[inline(always)]
pub(crate) fn push<B: PacketBuf>(buf: &mut B, port: &PortView, dst: &[u8; 6], et: u16) -> bool {
    let eth = header(port, dst, et);
    buf.prepend(eth.header_len()) && eth.emit(buf.data_mut()).is_ok()
}

/// Turns a received frame around: destination = its source, source = our port MAC.
#[inline]
pub(crate) fn reflect(d: &mut [u8], port: &PortView) {
    if let Some(h) = arr_mut::<12>(d, 0) {
        h.copy_within(6..12, 0);
        h[6..12].copy_from_slice(&port.mac);
    }
}
