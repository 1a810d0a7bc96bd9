//! The end-of-run summary: JSON (stdout and `--json FILE`) and a table for people (stderr),
//! and the live line printed every second.
use serde::Serialize;

use super::engine::StreamInfo;
use super::mix::{Kind, Mix, Sizes};
use super::rate::throughput;
use super::stats::{lost, LatencySummary, StreamRx};
use super::traffic::Addresses;

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub tool: &'static str,
    pub version: &'static str,
    pub tsc_hz: u64,
    /// Seconds from the first to the last measured packet sent (calibration excluded).
    pub duration_s: f64,
    pub traffic: TrafficInfo,
    pub ports: Vec<PortReport>,
    pub streams: Vec<StreamReport>,
    pub total: Totals,
    /// Received frames that carried no stamp of ours (ARP, ICMPv6 errors, foreign traffic).
    pub rx_foreign: u64,
    /// Calibration packets received (`--rate-percent` on virtual ports), not in any stream.
    pub rx_calibration: u64,
    /// Mbufs not back in relay-gen's pool after the ports closed (0 unless relay-gen leaks).
    pub mbufs_leaked: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrafficInfo {
    pub mode: &'static str,
    pub mix: Option<Mix>,
    pub sizes: Option<Sizes>,
    pub flows: Option<u64>,
    pub addresses: Option<Addresses>,
    /// The frames' source MAC is each TX port's own (no --src-mac).
    pub src_mac_from_port: bool,
    pub pcap: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PortReport {
    pub name: String,
    pub device: String,
    pub mac: String,
    pub tx: bool,
    pub rx: bool,
    pub link_up: bool,
    pub speed_mbps: u32,
    /// The device's own counters.
    pub ipackets: u64,
    pub opackets: u64,
    pub ibytes: u64,
    pub obytes: u64,
    pub imissed: u64,
    pub ierrors: u64,
    pub oerrors: u64,
    pub rx_nombuf: u64,
    pub sender: Option<SenderReport>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SenderReport {
    /// Packets the driver accepted (calibration included).
    pub sent: u64,
    /// Packets freed unsent at the end (the driver would not take them).
    pub dropped: u64,
    pub alloc_failed: u64,
    /// Deadlines skipped because the TX lcore was late (see rate.rs).
    pub skipped_deadlines: u64,
    pub rate_pps: Option<u64>,
    pub calibrated_max_pps: Option<f64>,
    pub calibration_sent: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamReport {
    pub id: u16,
    pub name: String,
    pub kind: Option<Kind>,
    /// "forward": a correct relay delivers it; "drop": it must not come out (loss expected);
    /// "unmeasured": replayed frames without a stamp.
    pub expect: &'static str,
    pub frame_bytes_min: Option<u16>,
    pub frame_bytes_max: Option<u16>,
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
    pub reordered: u64,
    pub bad_clock: u64,
    pub latency_us: LatencySummary,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    pub sent: u64,
    pub received: u64,
    /// Sent minus received over the streams a relay should forward.
    pub lost_forwarded: u64,
    /// What came through of the streams a relay should drop.
    pub leaked_invalid: u64,
    pub tx_mpps: f64,
    pub tx_gbps: f64,
    pub latency_samples: u64,
}

/// Per-stream results: `sent[i]` is (packets, bytes, smallest, largest frame) of stream i.
pub fn streams(infos: &[StreamInfo], sent: &[(u64, u64, u16, u16)], rx: &[StreamRx]) -> Vec<StreamReport> {
    infos
        .iter()
        .enumerate()
        .map(|(i, info)| {
            let (pk, _, min, max) = sent.get(i).copied().unwrap_or((0, 0, 0, 0));
            let r = rx.get(i);
            let received = r.map_or(0, |r| r.received);
            StreamReport {
                id: info.id,
                name: info.name.clone(),
                kind: info.kind,
                expect: match info.kind {
                    None => "unmeasured",
                    Some(k) if k.forwarded() => "forward",
                    Some(_) => "drop",
                },
                frame_bytes_min: (pk > 0).then_some(min),
                frame_bytes_max: (pk > 0).then_some(max),
                sent: pk,
                received,
                lost: if info.kind.is_some() { lost(pk, received) } else { 0 },
                reordered: r.map_or(0, |r| r.reordered),
                bad_clock: r.map_or(0, |r| r.bad_clock),
                latency_us: r.map_or_else(|| StreamRx::new().latency(), StreamRx::latency),
            }
        })
        .collect()
}

pub fn totals(streams: &[StreamReport], sent_bytes: u64, secs: f64) -> Totals {
    let sent = streams.iter().map(|s| s.sent).sum();
    let (tx_mpps, tx_gbps) = throughput(sent, sent_bytes, secs);
    Totals {
        sent,
        received: streams.iter().map(|s| s.received).sum(),
        lost_forwarded: streams.iter().filter(|s| s.expect == "forward").map(|s| s.lost).sum(),
        leaked_invalid: streams.iter().filter(|s| s.expect == "drop").map(|s| s.received).sum(),
        tx_mpps,
        tx_gbps,
        latency_samples: streams.iter().map(|s| s.latency_us.samples).sum(),
    }
}

fn us(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

/// The table for people.
pub fn render(s: &Summary) -> String {
    let mut out = format!(
        "relay-gen: {:.2} s, sent {} ({:.3} Mpps, {:.3} Gbps), received {}, lost (forwarded streams) {}, leaked invalid {}, foreign {}\n",
        s.duration_s, s.total.sent, s.total.tx_mpps, s.total.tx_gbps, s.total.received, s.total.lost_forwarded, s.total.leaked_invalid, s.rx_foreign
    );
    out.push_str(&format!(
        "  {:<22} {:>7} {:>11} {:>11} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
        "stream", "expect", "sent", "received", "lost", "p50 us", "p99 us", "p99.9 us", "max us"
    ));
    for st in &s.streams {
        let l = &st.latency_us;
        out.push_str(&format!(
            "  {:<22} {:>7} {:>11} {:>11} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
            st.name, st.expect, st.sent, st.received, st.lost, us(l.p50_us), us(l.p99_us), us(l.p99_9_us), us(l.max_us)
        ));
    }
    for p in &s.ports {
        out.push_str(&format!(
            "  port {:<10} ipackets {} opackets {} imissed {} ierrors {} oerrors {}{}\n",
            p.name,
            p.ipackets,
            p.opackets,
            p.imissed,
            p.ierrors,
            p.oerrors,
            p.sender.as_ref().map_or(String::new(), |t| format!(
                " | sent {} dropped {} skipped deadlines {}{}",
                t.sent,
                t.dropped,
                t.skipped_deadlines,
                t.rate_pps.map_or(String::new(), |r| format!(" rate {r} pps"))
            ))
        ));
    }
    out
}

/// The live line: rates over the last interval and running totals.
pub fn live_line(elapsed_s: f64, d_sent: (u64, u64), d_recv: (u64, u64), interval_s: f64, totals: (u64, u64), foreign: u64) -> String {
    let (tp, tg) = throughput(d_sent.0, d_sent.1, interval_s);
    let (rp, rg) = throughput(d_recv.0, d_recv.1, interval_s);
    format!(
        "relay-gen: {elapsed_s:6.1} s  tx {tp:8.3} Mpps {tg:7.3} Gbps  rx {rp:8.3} Mpps {rg:7.3} Gbps  sent {} received {} foreign {foreign}",
        totals.0, totals.1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: u16, kind: Option<Kind>) -> StreamInfo {
        StreamInfo { id, name: format!("s{id}"), kind }
    }

    #[test]
    fn streams_report_loss_expectation_and_latency() {
        let infos = [info(0, Some(Kind::Encap)), info(3, Some(Kind::Invalid)), info(7, None)];
        let mut rx: Vec<StreamRx> = (0..3).map(|_| StreamRx::new()).collect();
        for seq in 0..8 {
            rx[0].record(seq, 0, 1000, 1_000_000_000, 128);
        }
        rx[1].record(0, 0, 10, 1_000_000_000, 128);
        let sent = [(10, 1280, 128, 128), (5, 640, 128, 128), (4, 400, 90, 110)];
        let r = streams(&infos, &sent, &rx);
        assert_eq!((r[0].sent, r[0].received, r[0].lost, r[0].expect), (10, 8, 2, "forward"));
        assert_eq!(r[0].latency_us.p50_us, Some(1.0));
        assert_eq!((r[1].received, r[1].lost, r[1].expect), (1, 4, "drop"));
        assert_eq!((r[2].sent, r[2].lost, r[2].expect, r[2].frame_bytes_min, r[2].frame_bytes_max), (4, 0, "unmeasured", Some(90), Some(110)));
        let t = totals(&r, 2320, 1.0);
        assert_eq!((t.sent, t.received, t.lost_forwarded, t.leaked_invalid, t.latency_samples), (19, 9, 2, 1, 9));
        assert_eq!(t.tx_mpps, 19e-6);
    }

    #[test]
    fn unsent_stream_has_no_sizes() {
        let r = streams(&[info(1, Some(Kind::Decap))], &[(0, 0, u16::MAX, 0)], &[]);
        assert_eq!((r[0].frame_bytes_min, r[0].frame_bytes_max, r[0].received, r[0].lost), (None, None, 0, 0));
        assert_eq!(r[0].latency_us.samples, 0);
    }

    #[test]
    fn summary_serialises_to_json() {
        let r = streams(&[info(1, Some(Kind::Decap))], &[(2, 256, 128, 128)], &[]);
        let json = serde_json::to_value(&r[0]).unwrap();
        assert_eq!(json["kind"], "decap");
        assert_eq!(json["lost"], 2);
        assert_eq!(json["latency_us"]["p99_us"], serde_json::Value::Null);
        let line = live_line(2.0, (1_000_000, 125_000_000), (0, 0), 1.0, (5, 4), 0);
        assert!(line.contains("tx    1.000 Mpps   1.000 Gbps"), "{line}");
    }
}
