//! Classic pcap files (libpcap 2.4, Ethernet link type): written by `--write-pcap` for
//! Pktgen-DPDK and relayd's offline mode, read by `--pcap` for replay.
use std::io::{self, Write};
use std::path::Path;

use super::build::{Source, MAX_LEN};
use super::mix::Kind;

const MAGIC_US: u32 = 0xa1b2_c3d4;
const MAGIC_NS: u32 = 0xa1b2_3c4d;
const LINKTYPE_ETHERNET: u32 = 1;
/// Largest record we accept when reading (jumbo frames included).
const MAX_RECORD: usize = 16 * 1024;

/// Writes microsecond-resolution records.
pub struct PcapWriter<W: Write> {
    w: W,
}

impl<W: Write> PcapWriter<W> {
    pub fn new(mut w: W) -> io::Result<PcapWriter<W>> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&MAGIC_US.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes()); // GMT offset
        h.extend_from_slice(&0u32.to_le_bytes()); // timestamp accuracy
        h.extend_from_slice(&65_535u32.to_le_bytes());
        h.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        w.write_all(&h)?;
        Ok(PcapWriter { w })
    }

    pub fn write(&mut self, ts_ns: u64, frame: &[u8]) -> io::Result<()> {
        let len = u32::try_from(frame.len()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too long"))?;
        let secs = u32::try_from(ts_ns / 1_000_000_000).unwrap_or(u32::MAX);
        let usecs = (ts_ns % 1_000_000_000 / 1000) as u32;
        let mut r = Vec::with_capacity(16);
        r.extend_from_slice(&secs.to_le_bytes());
        r.extend_from_slice(&usecs.to_le_bytes());
        r.extend_from_slice(&len.to_le_bytes());
        r.extend_from_slice(&len.to_le_bytes());
        self.w.write_all(&r)?;
        self.w.write_all(frame)
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.w.flush()?;
        Ok(self.w)
    }
}

/// The frames of a pcap file (either byte order, µs or ns timestamps, Ethernet only).
pub fn parse(data: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let magic = data.get(..4).ok_or("shorter than a pcap header")?;
    let m = [magic[0], magic[1], magic[2], magic[3]];
    let le = match (u32::from_le_bytes(m), u32::from_be_bytes(m)) {
        (MAGIC_US | MAGIC_NS, _) => true,
        (_, MAGIC_US | MAGIC_NS) => false,
        _ => return Err("not a pcap file (pcapng is not supported: convert with `editcap -F pcap`)".into()),
    };
    let u32_at = |off: usize| -> Option<u32> {
        let b = data.get(off..off + 4)?;
        let b = [b[0], b[1], b[2], b[3]];
        Some(if le { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) })
    };
    let link = u32_at(20).ok_or("truncated pcap header")?;
    if link != LINKTYPE_ETHERNET {
        return Err(format!("link type {link} is not Ethernet (1)"));
    }
    let mut off = 24;
    let mut frames = Vec::new();
    while off < data.len() {
        let caplen = u32_at(off + 8).ok_or_else(|| format!("record {} is truncated", frames.len()))? as usize;
        let origlen = u32_at(off + 12).ok_or_else(|| format!("record {} is truncated", frames.len()))? as usize;
        if caplen > MAX_RECORD {
            return Err(format!("record {} is {caplen} bytes long", frames.len()));
        }
        if caplen < origlen {
            return Err(format!("record {} was captured cut short ({caplen} of {origlen} bytes)", frames.len()));
        }
        let body = data.get(off + 16..off + 16 + caplen).ok_or_else(|| format!("record {} is truncated", frames.len()))?;
        frames.push(body.to_vec());
        off += 16 + caplen;
    }
    Ok(frames)
}

pub fn read(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&data).map_err(|e| format!("{}: {e}", path.display()))
}

/// What `--write-pcap` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub packets: u64,
    pub bytes: u64,
    pub per_kind: [u64; 4],
}

/// Writes `n` packets of `source` to `path`, timestamped `interval_ns` apart.
pub fn write_traffic(path: &Path, source: &mut Source, n: u64, interval_ns: u64) -> Result<Written, String> {
    let err = |e: io::Error| format!("{}: {e}", path.display());
    let file = std::fs::File::create(path).map_err(err)?;
    let mut w = PcapWriter::new(io::BufWriter::new(file)).map_err(err)?;
    let mut buf = vec![0u8; MAX_LEN];
    let mut out = Written { packets: 0, bytes: 0, per_kind: [0; 4] };
    for i in 0..n {
        let (kind, len) = source.next(0, &mut buf).ok_or("no packet could be built")?;
        let frame = buf.get(..len).ok_or("built frame longer than its buffer")?;
        w.write(i.saturating_mul(interval_ns), frame).map_err(err)?;
        out.packets += 1;
        out.bytes += len as u64;
        if let Some(c) = out.per_kind.get_mut(usize::from(kind.code())) {
            *c += 1;
        }
    }
    w.finish().map_err(err)?;
    Ok(out)
}

impl Written {
    pub fn count(&self, kind: Kind) -> u64 {
        self.per_kind.get(usize::from(kind.code())).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_reads_back() {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        w.write(1_500_002_000, &[1, 2, 3]).unwrap();
        w.write(0, &[4; 60]).unwrap();
        let data = w.finish().unwrap();
        assert_eq!(&data[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(&data[20..24], &[1, 0, 0, 0]);
        // First record header: 1 s, 500002 µs, 3, 3.
        assert_eq!(&data[24..40], &[1, 0, 0, 0, 0x22, 0xa1, 7, 0, 3, 0, 0, 0, 3, 0, 0, 0]);
        assert_eq!(data.len(), 24 + 16 + 3 + 16 + 60);
        assert_eq!(parse(&data), Ok(vec![vec![1, 2, 3], vec![4; 60]]));
    }

    #[test]
    fn reads_big_endian_files() {
        let mut d = vec![0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 1];
        d.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 9, 9]);
        assert_eq!(parse(&d), Ok(vec![vec![9, 9]]));
    }

    #[test]
    fn rejects_bad_files_with_a_reason() {
        assert!(parse(b"").unwrap_err().contains("shorter"));
        assert!(parse(b"\x0a\x0d\x0d\x0a0000000000000000000000").unwrap_err().contains("pcapng"));
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        w.write(0, &[1, 2, 3, 4]).unwrap();
        let mut d = w.finish().unwrap();
        d.pop();
        assert_eq!(parse(&d), Err("record 0 is truncated".into()));
        let mut linux_sll = PcapWriter::new(Vec::new()).unwrap().finish().unwrap();
        linux_sll[20] = 113;
        assert!(parse(&linux_sll).unwrap_err().contains("not Ethernet"));
        let mut cut = PcapWriter::new(Vec::new()).unwrap();
        cut.write(0, &[1]).unwrap();
        let mut cut = cut.finish().unwrap();
        cut[24 + 12] = 9; // original length 9, captured 1
        assert!(parse(&cut).unwrap_err().contains("cut short"));
    }
}
