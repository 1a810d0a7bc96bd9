//! A client for DPDK's telemetry socket (`/var/run/dpdk/<prefix>/dpdk_telemetry.v2`), the
//! same one `dpdk-telemetry.py` uses: a SOCK_SEQPACKET Unix socket that greets with a JSON
//! object and answers each command (`/ethdev/stats,0`, `/relay/stats`) with one JSON message.
use std::path::{Path, PathBuf};
use std::time::Duration;

use uds::UnixSeqpacketConn;

/// The telemetry socket of the DPDK process started with `--file-prefix=prefix` (as root).
pub fn socket_path(prefix: &str) -> PathBuf {
    PathBuf::from(format!("/var/run/dpdk/{prefix}/dpdk_telemetry.v2"))
}

pub struct Telemetry {
    conn: UnixSeqpacketConn,
    buf: Vec<u8>,
}

impl Telemetry {
    pub fn connect(path: &Path) -> std::io::Result<Telemetry> {
        let conn = UnixSeqpacketConn::connect(path)?;
        conn.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut t = Telemetry { conn, buf: vec![0; 64 * 1024] };
        t.read_message()?; // greeting: version, pid, max_output_len
        Ok(t)
    }

    /// Sends `command` and returns the JSON reply text.
    pub fn query(&mut self, command: &str) -> std::io::Result<String> {
        self.conn.send(command.as_bytes())?;
        self.read_message()
    }

    fn read_message(&mut self) -> std::io::Result<String> {
        let n = self.conn.recv(&mut self.buf)?;
        Ok(String::from_utf8_lossy(&self.buf[..n]).into_owned())
    }
}

/// Reads an unsigned integer field `"name":123` out of a flat telemetry JSON reply. DPDK's
/// replies are one object of scalars per command, so a field scan is all the parsing needed.
pub fn json_u64(json: &str, name: &str) -> Option<u64> {
    let key = format!("\"{name}\":");
    let at = json.find(&key)? + key.len();
    let digits: String = json[at..].trim_start().chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_from_replies() {
        let reply = r#"{"/ethdev/stats": {"ipackets": 12, "opackets": 345, "q_opackets": [1, 2]}}"#;
        assert_eq!(json_u64(reply, "opackets"), Some(345));
        assert_eq!(json_u64(reply, "ipackets"), Some(12));
        assert_eq!(json_u64(reply, "imissed"), None);
    }
}
