//! The Debian package (issue 21 §4; scripts/package.sh): built from this build's binaries, it
//! holds the programs, an example configuration, the units, man pages and completions made
//! from the programs' own clap definitions; its units pass `systemd-analyze verify`; it
//! installs with `dpkg -i` into a scratch root, and `relayd --check` runs from there.
mod common;
use std::path::Path;
use std::process::Command;

use common::*;

const FILES: &[&str] = &[
    "./etc/relay/example.toml",
    "./lib/systemd/system/bird.service.d/relay.conf",
    "./lib/systemd/system/relay-health.service",
    "./lib/systemd/system/relay-hugepages.service",
    "./lib/systemd/system/relayd.service",
    "./lib/systemd/system/relayd@.service",
    "./usr/bin/relay-gen",
    "./usr/bin/relay-health",
    "./usr/bin/relayctl",
    "./usr/lib/relay/hugepages.sh",
    "./usr/sbin/relayd",
    "./usr/share/bash-completion/completions/relay-gen",
    "./usr/share/bash-completion/completions/relay-health",
    "./usr/share/bash-completion/completions/relayctl",
    "./usr/share/bash-completion/completions/relayd",
    "./usr/share/doc/relay/README.md",
    "./usr/share/doc/relay/deploy-bgp.md",
    "./usr/share/fish/vendor_completions.d/relay-gen.fish",
    "./usr/share/fish/vendor_completions.d/relay-health.fish",
    "./usr/share/fish/vendor_completions.d/relayctl.fish",
    "./usr/share/fish/vendor_completions.d/relayd.fish",
    "./usr/share/man/man1/relay-gen.1.gz",
    "./usr/share/man/man1/relay-health.1.gz",
    "./usr/share/man/man1/relayctl.1.gz",
    "./usr/share/man/man8/relayd.8.gz",
    "./usr/share/zsh/vendor-completions/_relay-gen",
    "./usr/share/zsh/vendor-completions/_relay-health",
    "./usr/share/zsh/vendor-completions/_relayctl",
    "./usr/share/zsh/vendor-completions/_relayd",
];

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} ({}):\n{}{}", out.status, String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_debian_package_builds_holds_what_it_should_installs_and_runs() {
    let dir = Scratch::new("package");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin_dir = sibling_bin("relayd").parent().expect("bin dir").to_path_buf();
    for p in ["relayctl", "relay-gen", "relay-health"] {
        assert!(bin_dir.join(p).is_file(), "{p} beside relayd (cargo build --workspace --release)");
    }
    let deb = run(Command::new(repo.join("scripts/package.sh")).arg(dir.path("out")).arg(&bin_dir)).trim().to_string();
    assert!(deb.ends_with(&format!("relay_{}_amd64.deb", env!("CARGO_PKG_VERSION"))), "{deb}");

    let listing = run(Command::new("dpkg-deb").args(["-c", &deb]));
    let files: Vec<&str> = listing.lines().filter(|l| !l.starts_with('d')).filter_map(|l| l.split_whitespace().nth(5)).collect();
    assert_eq!(files, FILES, "the package's files");
    let fields = run(Command::new("dpkg-deb").args(["-f", &deb, "Package", "Architecture", "Depends"]));
    assert!(fields.contains("Package: relay\n") && fields.contains("Architecture: amd64\n"), "{fields}");
    for dep in ["librte-eal23 (>= 22.11", "librte-ethdev23 (>= 22.11", "librte-net-tap23 (>= 22.11", "librte-net-memif23 (>= 22.11"] {
        assert!(fields.contains(dep), "Depends has {dep}: {fields}");
    }

    // dpkg -i into a scratch root (its own empty package database; the dependencies are this
    // machine's, hence --force-depends).
    let root = dir.path("root");
    std::fs::create_dir_all(root.join("var/lib/dpkg/info")).expect("dpkg dirs");
    std::fs::create_dir_all(root.join("var/lib/dpkg/updates")).expect("dpkg dirs");
    std::fs::write(root.join("var/lib/dpkg/status"), "").expect("status");
    run(Command::new("dpkg").arg(format!("--root={}", root.display())).args(["--force-depends", "-i", &deb]));
    let status = run(Command::new("dpkg").arg(format!("--root={}", root.display())).args(["-s", "relay"]));
    assert!(status.contains("Status: install ok installed"), "{status}");
    let check = run(Command::new(root.join("usr/sbin/relayd")).arg("-c").arg(root.join("etc/relay/example.toml")).arg("--check"));
    assert!(check.starts_with("config ok\n"), "relayd --check from the package:\n{check}");
    let man = run(Command::new("sh").arg("-c").arg(format!("zcat {}", root.join("usr/share/man/man8/relayd.8.gz").display())));
    assert!(man.contains(".TH relayd 8") && man.contains("\\-\\-check"), "relayd(8):\n{man}");
    let bash = std::fs::read_to_string(root.join("usr/share/bash-completion/completions/relayctl")).expect("completion");
    assert!(bash.contains("_relayctl()") && bash.contains("--socket"), "{bash}");

    // The installed units, their commands pointed into the scratch root, found by name as
    // systemd would (the template through an instance), systemd's own units after them.
    let units = dir.path("units");
    std::fs::create_dir_all(&units).expect("units dir");
    std::fs::create_dir_all(units.join("bird.service.d")).expect("drop-in dir");
    for u in ["relayd@.service", "relayd.service", "relay-hugepages.service", "relay-health.service", "bird.service.d/relay.conf"] {
        let text = std::fs::read_to_string(root.join("lib/systemd/system").join(u)).expect("unit");
        let pointed = text.replace("=/usr/", &format!("={}/usr/", root.display()));
        std::fs::write(units.join(u), pointed).expect("unit copy");
    }
    let out = Command::new("systemd-analyze")
        .env("SYSTEMD_UNIT_PATH", format!("{}:", units.display()))
        .args(["verify", "relayd@example.service", "relayd.service", "relay-hugepages.service", "relay-health.service", "bird.service"])
        .output()
        .expect("systemd-analyze (scripts/setup.sh)");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && stdout.is_empty() && stderr.is_empty(), "systemd-analyze verify ({}):\n{stdout}{stderr}", out.status);
}
