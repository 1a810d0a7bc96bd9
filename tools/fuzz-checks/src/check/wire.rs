//! The header views on arbitrary bytes: every view on the whole buffer, then the decode chain
//! the pipeline walks (Ethernet → IPv4 → protocol 41 → IPv6 → ICMPv6, ICMP quotes). Beside
//! "no getter panics": accessors stay inside what the header declares, and a checksum the
//! view fills is one it verifies.
use relay::wire::checksum::ipv4_header_ok;
use relay::wire::{ethertype, ip_proto, ArpPacket, EthernetFrame, Icmpv4Packet, Icmpv6Packet, Ipv4Packet, Ipv6Packet};

pub fn check(data: &[u8]) {
    arp(data);
    let payload = ethernet(data);
    for l3 in [data, payload.unwrap_or(&[])] {
        ipv4(l3);
        ipv6(l3);
        icmpv4(l3);
        icmpv6(l3, &[0; 16], &[0; 16]);
    }
}

/// The frame's L3 bytes, when it is a whole Ethernet (or 802.1Q) header.
fn ethernet(data: &[u8]) -> Option<&[u8]> {
    let f = EthernetFrame::new_checked(data).ok()?;
    let (_, _, _, _) = (f.dst_addr(), f.src_addr(), f.vlan_id(), f.vlan_tci());
    let hl = f.header_len();
    assert_eq!(hl, if f.is_vlan_tagged() { 18 } else { 14 });
    assert_eq!(f.payload().len(), data.len() - hl, "Ethernet payload is the rest of the frame");
    let _ = f.ethertype() == ethertype::VLAN;
    data.get(hl..)
}

fn arp(data: &[u8]) {
    let Ok(p) = ArpPacket::new_checked(data) else { return };
    let _ = (p.hardware_type(), p.protocol_type(), p.hardware_len(), p.protocol_len(), p.operation());
    let _ = (p.sender_hardware_addr(), p.sender_protocol_addr(), p.target_hardware_addr(), p.target_protocol_addr());
    let mut copy = data.to_vec();
    if let Ok(mut r) = ArpPacket::new_checked(&mut copy[..]) {
        let us = relay::wire::EthernetAddress([2, 0, 0, 0, 0, 1]);
        r.make_reply(us);
        assert_eq!(r.sender_hardware_addr(), us, "a reply is from us");
    }
}

fn ipv4(data: &[u8]) {
    if let Ok(q) = Ipv4Packet::new_quoted(data) {
        assert!((20..=60).contains(&q.header_len()) && q.header_len() <= data.len());
        let _ = q.payload();
    }
    let Ok(p) = Ipv4Packet::new_checked(data) else { return };
    let (hl, total) = (p.header_len(), usize::from(p.total_len()));
    assert!(hl >= 20 && hl <= total && total <= data.len(), "header {hl}, total {total}, buffer {}", data.len());
    assert_eq!(p.payload().len(), total - hl, "payload stops at the total length");
    assert_eq!(p.options().len(), hl - 20);
    assert_eq!(p.verify_checksum(), ipv4_header_ok(&data[..hl]), "the view and the fast check agree");
    let _ = (p.version(), p.dscp(), p.ecn(), p.ident(), p.dont_frag(), p.more_frags(), p.frag_offset(), p.is_fragment());
    let _ = (p.ttl(), p.src_addr(), p.dst_addr(), p.src_bytes(), p.dst_bytes());
    let mut copy = data.to_vec();
    if let Ok(mut w) = Ipv4Packet::new_checked(&mut copy[..]) {
        w.fill_checksum();
        assert!(w.verify_checksum(), "a filled IPv4 checksum verifies");
    }
    let payload = p.payload();
    match p.next_header() {
        ip_proto::IPV6 => ipv6(payload),
        ip_proto::ICMP => icmpv4(payload),
        _ => {}
    }
}

fn ipv6(data: &[u8]) {
    if let Ok(q) = Ipv6Packet::new_quoted(data) {
        let _ = (q.payload(), q.upper_layer());
    }
    let Ok(p) = Ipv6Packet::new_checked(data) else { return };
    let end = p.total_len().min(data.len());
    assert_eq!(p.payload().len(), end - 40, "payload: 40..40+payload_len within the buffer");
    let _ = (p.version(), p.traffic_class(), p.dscp(), p.ecn(), p.flow_label(), p.hop_limit(), p.src_addr(), p.dst_addr());
    let Ok((next, at)) = p.upper_layer() else { return };
    assert!((40..=end).contains(&at), "upper layer at {at}, packet ends at {end}");
    if next == ip_proto::IPV6_FRAGMENT {
        if let Ok(f) = p.fragment_at(at) {
            assert_eq!(f.offset & 7, 0, "the offset is in 8-octet units");
        }
    }
    if next == ip_proto::ICMPV6 {
        if let Some(upper) = data.get(at..end) {
            icmpv6(upper, &p.src_bytes(), &p.dst_bytes());
        }
    }
}

fn icmpv4(data: &[u8]) {
    let Ok(p) = Icmpv4Packet::new_checked(data) else { return };
    let _ = (p.msg_type(), p.code(), p.checksum(), p.echo_ident(), p.echo_seq_no(), p.next_hop_mtu(), p.pointer(), p.is_error());
    assert!(p.payload().len() <= data.len());
    if let Some(q) = p.quoted_packet() {
        assert!(q.len() <= p.payload().len(), "the quote is inside the payload");
        ipv4(q);
    }
    let mut copy = data.to_vec();
    if let Ok(mut w) = Icmpv4Packet::new_checked(&mut copy[..]) {
        w.fill_checksum();
        assert!(w.verify_checksum(), "a filled ICMPv4 checksum verifies");
    }
}

fn icmpv6(data: &[u8], src: &[u8; 16], dst: &[u8; 16]) {
    let Ok(p) = Icmpv6Packet::new_checked(data) else { return };
    let _ = (p.msg_type(), p.code(), p.checksum(), p.echo_ident(), p.echo_seq_no(), p.mtu(), p.pointer(), p.is_error());
    let _ = (p.verify_checksum(src, dst), p.target_addr(), p.redirect_dst_addr(), p.na_flags(), p.router_advert());
    if let Some(q) = p.quoted_packet() {
        assert!(q.len() <= p.payload().len(), "the quote is inside the payload");
        ipv6(q);
    }
    // Every option is at least 8 bytes, so the walk ends within len / 8 steps.
    let steps = p.nd_options().take(data.len() / 8 + 2).count();
    assert!(steps <= data.len() / 8 + 1, "{steps} options in {} bytes", data.len());
    let _ = (p.link_layer_option(1), p.link_layer_option(2));
    let mut copy = data.to_vec();
    if let Ok(mut w) = Icmpv6Packet::new_checked(&mut copy[..]) {
        w.fill_checksum(src, dst);
        assert!(w.verify_checksum(src, dst), "a filled ICMPv6 checksum verifies");
    }
}
