//! Generates bindings to the system DPDK (found with pkg-config) and compiles the C shim for its
//! static-inline fast path with the same flags DPDK's headers expect.
use std::env;
use std::path::PathBuf;

const SETUP_HINT: &str = "install it with: sudo ./scripts/setup.sh  \
(or: apt-get install dpdk libdpdk-dev libclang-dev pkg-config)";

fn main() {
    println!("cargo:rerun-if-changed=wrapper.h");
    println!("cargo:rerun-if-changed=shim.h");
    println!("cargo:rerun-if-changed=shim.c");

    let dpdk = match pkg_config::Config::new().atleast_version("22.11").probe("libdpdk") {
        Ok(lib) => lib,
        Err(e) => {
            eprintln!("error: DPDK ≥ 22.11 not found by pkg-config (libdpdk): {e}\n{SETUP_HINT}");
            std::process::exit(1);
        }
    };
    // pkg-config's cflags carry more than include paths (-include rte_config.h, -march from the
    // distribution build): pass them through unchanged to both bindgen and the shim.
    let cflags = pkg_config_cflags();

    let mut shim = cc::Build::new();
    shim.file("shim.c").include(".").opt_level(3).warnings(false);
    for f in &cflags {
        shim.flag(f);
    }
    shim.compile("relay_dpdk_shim");

    if std::panic::catch_unwind(bindgen::clang_version).is_err() {
        eprintln!("error: libclang not found for bindgen\n{SETUP_HINT}");
        std::process::exit(1);
    }
    let bindings = bindgen::Builder::default()
        .header("wrapper.h")
        .clang_args(&cflags)
        .clang_arg("-I.")
        .allowlist_function("rte_.*|relay_.*")
        .allowlist_type("rte_.*")
        .allowlist_var("RTE_.*|rte_.*")
        .blocklist_function("rte_.*_burst_.*_debug")
        // Packed protocol-header types that bindgen cannot lay out in Rust; relay parses headers
        // itself (relay::wire), so they stay opaque.
        .opaque_type("rte_l2tpv2_.*|rte_gtp_.*|rte_flow_item_.*|rte_flow_action_.*")
        .derive_debug(false)
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false)
        .prepend_enum_name(false)
        .default_enum_style(bindgen::EnumVariation::Consts)
        .generate();
    let bindings = match bindings {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: bindgen failed on the DPDK headers: {e}\n{SETUP_HINT}");
            std::process::exit(1);
        }
    };
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    bindings.write_to_file(out.join("bindings.rs")).expect("write bindings.rs");

    // Every DPDK library the bindings may reference; Debian links them as shared objects, and
    // PMDs load as plugins from the EAL's default driver directory.
    for path in &dpdk.link_paths {
        println!("cargo:rustc-link-search=native={}", path.display());
    }
    for lib in &dpdk.libs {
        println!("cargo:rustc-link-lib=dylib={lib}");
    }
    println!("cargo:version={}", dpdk.version);
}

fn pkg_config_cflags() -> Vec<String> {
    let out = std::process::Command::new("pkg-config")
        .args(["--cflags", "libdpdk"])
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        _ => {
            eprintln!("error: `pkg-config --cflags libdpdk` failed\n{SETUP_HINT}");
            std::process::exit(1);
        }
    }
}
