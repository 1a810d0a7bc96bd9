//! relayd's build: the DPDK version for `--version`, and an rpath so the binary finds DPDK's
//! shared libraries wherever pkg-config found them (Debian's are on the default path already).
fn main() {
    let version = std::env::var("DEP_DPDK_VERSION").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=RELAY_DPDK_VERSION={version}");
    if let Ok(out) = std::process::Command::new("pkg-config").args(["--variable=libdir", "libdpdk"]).output() {
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !dir.is_empty() {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
