//! Just enough of the pcap file format to count records: offline mode stops when every packet
//! of its input files has been received.
use std::io::Read;
use std::path::Path;

/// Counts the records of a classic pcap file (either byte order, µs or ns timestamps).
pub fn count_records(path: &Path) -> Result<u64, String> {
    let mut data = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut data))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    count_in(&data).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn count_in(data: &[u8]) -> Result<u64, String> {
    let magic = data.get(..4).ok_or("shorter than a pcap header")?;
    let big_endian = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => false,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => true,
        _ => return Err("not a pcap file (pcapng is not supported by net_pcap)".into()),
    };
    if data.len() < 24 {
        return Err("truncated pcap header".into());
    }
    let mut off = 24usize;
    let mut n = 0u64;
    while off < data.len() {
        let hdr = data.get(off..off + 16).ok_or("truncated record header")?;
        let caplen_bytes = [hdr[8], hdr[9], hdr[10], hdr[11]];
        let caplen = if big_endian { u32::from_be_bytes(caplen_bytes) } else { u32::from_le_bytes(caplen_bytes) };
        off = off
            .checked_add(16 + caplen as usize)
            .filter(|&end| end <= data.len())
            .ok_or("truncated record")?;
        n += 1;
    }
    Ok(n)
}

/// The `rx_pcap=` file of a net_pcap vdev string, if any.
pub fn rx_pcap_of(device: &str) -> Option<&str> {
    device.split(',').find_map(|kv| kv.strip_prefix("rx_pcap="))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap(records: &[&[u8]]) -> Vec<u8> {
        let mut v = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0];
        for r in records {
            v.extend_from_slice(&[0; 8]);
            v.extend_from_slice(&(r.len() as u32).to_le_bytes());
            v.extend_from_slice(&(r.len() as u32).to_le_bytes());
            v.extend_from_slice(r);
        }
        v
    }

    #[test]
    fn counts_records() {
        assert_eq!(count_in(&pcap(&[])), Ok(0));
        assert_eq!(count_in(&pcap(&[&[1, 2, 3], &[4; 60]])), Ok(2));
    }

    #[test]
    fn rejects_truncated_and_foreign_files() {
        let mut p = pcap(&[&[1, 2, 3]]);
        p.pop();
        assert_eq!(count_in(&p), Err("truncated record".into()));
        assert!(count_in(b"\x0a\x0d\x0d\x0a....").is_err());
        assert!(count_in(b"ab").is_err());
    }

    #[test]
    fn a_magic_without_the_rest_of_the_header_is_no_empty_file() {
        // Counted as 0 records before (the pcap fuzzer's find, fuzz/crashers/pcap/).
        let empty = pcap(&[]);
        for len in [4, 13, 23] {
            assert_eq!(count_in(&empty[..len]), Err("truncated pcap header".into()), "{len} bytes");
        }
        assert_eq!(count_in(&empty), Ok(0));
    }

    #[test]
    fn finds_rx_pcap() {
        assert_eq!(rx_pcap_of("net_pcap0,rx_pcap=/tmp/a.pcap,tx_pcap=/tmp/b.pcap"), Some("/tmp/a.pcap"));
        assert_eq!(rx_pcap_of("net_null0"), None);
    }
}
