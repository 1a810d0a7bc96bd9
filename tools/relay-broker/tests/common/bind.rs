//! A real BIND 9 (`named`, Debian's bind9) for the DNS tests: on 127.0.0.1 and a free port, its
//! configuration generated in a scratch directory: the forward zone and the two ip6.arpa zones
//! of the test pools, each updatable by one TSIG key (`update-policy`). Killed on drop; its
//! zones and journals stay in the directory, so a restart keeps what updates put there.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ZONE: &str = "tunnels.example.net";
/// 2001:db8:1000::/48 (the link /64 pool) and 2001:db8:8000::/40 (the routed /48 pool).
pub const REVERSE: [&str; 2] = ["0.0.0.1.8.b.d.0.1.0.0.2.ip6.arpa", "0.8.8.b.d.0.1.0.0.2.ip6.arpa"];
pub const KEY: &str = "relay-broker";
pub const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=";

/// A port nothing listens on now (TCP and UDP are both needed by named).
pub fn free_port() -> u16 {
    loop {
        let t = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = t.local_addr().expect("addr").port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

pub struct Named {
    child: Child,
    pub dir: PathBuf,
    pub port: u16,
}

impl Named {
    /// Writes the configuration and zones (once: a restart keeps the journals) and starts named.
    pub fn start(dir: &Path, port: u16) -> Named {
        let conf = dir.join("named.conf");
        if !conf.exists() {
            std::fs::write(&conf, config(dir, port)).expect("named.conf");
            let soa = "$TTL 300\n@ SOA ns.tunnels.example.net. hostmaster.example.net. 1 3600 600 86400 300\n@ NS ns.tunnels.example.net.\n";
            // Records the broker did not make: they must survive everything it does.
            let fwd = format!("{soa}ns A 127.0.0.1\ngw AAAA 2001:db8:1000::1\nt1 TXT \"operator note\"\n");
            std::fs::write(dir.join("fwd.db"), fwd).expect("zone");
            for z in REVERSE {
                std::fs::write(dir.join(format!("{z}.db")), soa).expect("zone");
            }
        }
        let log = std::fs::File::create(dir.join("named.log")).expect("log");
        // -g: foreground, log to stderr; -n 1: one worker thread (a 2-core machine).
        let child = Command::new("/usr/sbin/named")
            .args(["-g", "-n", "1", "-c", conf.to_str().expect("utf-8")])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start named (./scripts/setup.sh installs bind9)");
        let mut n = Named { child, dir: dir.to_path_buf(), port };
        n.wait_up();
        n
    }

    fn wait_up(&mut self) {
        let start = Instant::now();
        // named listens only once every zone is loaded.
        while TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], self.port))).is_err() {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("named exited ({st}): {}", std::fs::read_to_string(self.dir.join("named.log")).unwrap_or_default());
            }
            assert!(start.elapsed() < Duration::from_secs(30), "named not up: {}", std::fs::read_to_string(self.dir.join("named.log")).unwrap_or_default());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `dig @127.0.0.1 -p PORT +short ARGS`: the answer's data, one per line, sorted.
    pub fn dig(&self, args: &[&str]) -> String {
        let out = Command::new("dig")
            .args(["@127.0.0.1", "-p", &self.port.to_string(), "+short", "+norecurse", "+time=5", "+tries=1"])
            .args(args)
            .output()
            .expect("dig (bind9-dnsutils)");
        assert!(out.status.success(), "dig {args:?}: {}", String::from_utf8_lossy(&out.stdout));
        let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(String::from).collect();
        lines.sort();
        lines.iter().map(|l| format!("{l}\n")).collect()
    }

    /// Sends `script` to `nsupdate` with the key: a change made behind the broker's back.
    pub fn nsupdate(&self, script: &str) {
        let mut child = Command::new("nsupdate")
            .args(["-y", &format!("hmac-sha256:{KEY}:{SECRET}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nsupdate (bind9-dnsutils)");
        let text = format!("server 127.0.0.1 {}\n{script}\nsend\n", self.port);
        std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), text.as_bytes()).expect("nsupdate input");
        let out = child.wait_with_output().expect("nsupdate");
        assert!(out.status.success(), "nsupdate: {}", String::from_utf8_lossy(&out.stderr));
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Named {
    fn drop(&mut self) {
        self.stop();
    }
}

fn config(dir: &Path, port: u16) -> String {
    let d = dir.display();
    let mut c = format!(
        "options {{\n  directory \"{d}\";\n  pid-file \"{d}/named.pid\";\n  listen-on port {port} {{ 127.0.0.1; }};\n  listen-on-v6 {{ none; }};\n  \
         recursion no;\n  notify no;\n  dnssec-validation no;\n  allow-query {{ any; }};\n}};\n\
         controls {{ }};\n\
         key \"{KEY}\" {{ algorithm hmac-sha256; secret \"{SECRET}\"; }};\n\
         zone \"{ZONE}\" {{ type primary; file \"{d}/fwd.db\"; update-policy {{ grant {KEY} subdomain {ZONE}. ANY; }}; }};\n"
    );
    for z in REVERSE {
        c.push_str(&format!("zone \"{z}\" {{ type primary; file \"{d}/{z}.db\"; update-policy {{ grant {KEY} subdomain {z}. PTR; }}; }};\n"));
    }
    c
}
