//! relayd's offline-mode pcap reader (src/pcap.rs) on arbitrary bytes.
//!
//! Property beside "no panic": a count is only given for a whole file, a 24-byte global header
//! then records of a 16-byte header and `caplen` bytes that end exactly at the file's end, and
//! it is the number of those records.
use crate::pcap::count_in;

pub fn check(data: &[u8]) {
    let Ok(n) = count_in(data) else { return };
    assert!(data.len() >= 24, "{n} records counted in {} bytes, shorter than the global header", data.len());
    let big_endian = data[0] == 0xa1;
    let mut off = 24;
    let mut records = 0;
    while let Some(hdr) = data.get(off..off + 16) {
        let len = [hdr[8], hdr[9], hdr[10], hdr[11]];
        let caplen = if big_endian { u32::from_be_bytes(len) } else { u32::from_le_bytes(len) };
        off += 16 + caplen as usize;
        records += 1;
    }
    assert_eq!(off, data.len(), "the records end at the file's end");
    assert_eq!(records, n, "records counted");
}
