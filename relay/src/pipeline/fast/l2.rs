//! The egress L2 header.
use crate::pipeline::model::host::PortView;
use crate::wire::bytes::arr_mut;
use crate::wire::ethertype;

use super::PacketBuf;

/// Prepends the Ethernet (and 802.1Q, if the port has a VLAN) header: `dst`, the port's
/// MAC, `et`. False (unchanged) without headroom.
#[inline(always)]
pub(crate) fn push<B: PacketBuf>(buf: &mut B, port: &PortView, dst: &[u8; 6], et: u16) -> bool {
    match port.vlan {
        None => {
            if !buf.prepend(14) {
                return false;
            }
            let Some(h) = arr_mut::<14>(buf.data_mut(), 0) else { return false };
            h[0..6].copy_from_slice(dst);
            h[6..12].copy_from_slice(&port.mac);
            h[12..14].copy_from_slice(&et.to_be_bytes());
        }
        Some(vid) => {
            if !buf.prepend(18) {
                return false;
            }
            let Some(h) = arr_mut::<18>(buf.data_mut(), 0) else { return false };
            h[0..6].copy_from_slice(dst);
            h[6..12].copy_from_slice(&port.mac);
            h[12..14].copy_from_slice(&ethertype::VLAN.to_be_bytes());
            h[14..16].copy_from_slice(&vid.to_be_bytes());
            h[16..18].copy_from_slice(&et.to_be_bytes());
        }
    }
    true
}

/// Turns a received frame around: destination = its source, source = our port MAC.
#[inline]
pub(crate) fn reflect(d: &mut [u8], port: &PortView) {
    if let Some(h) = arr_mut::<12>(d, 0) {
        h.copy_within(6..12, 0);
        h[6..12].copy_from_slice(&port.mac);
    }
}
