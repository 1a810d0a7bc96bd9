#!/usr/bin/env bash
# Builds the Debian package relay_<version>_amd64.deb from release binaries already built
# (cargo build --workspace --release): relayd, relayctl, relay-gen, relay-health, an example
# configuration, the systemd units (relayd@.service one instance per configuration; relayd.service,
# relay-health.service and BIRD's drop-in for the BGP deployment, docs/deploy-bgp.md), man pages
# and bash/zsh/fish completions made from the programs' own clap definitions (`--man`,
# `--completions`), and the hugepages script. Depends: the Debian packages that hold the
# shared libraries relayd links (DPDK 22.11's), found with dpkg -S. tests/package.rs installs it.
#
#   ./scripts/package.sh OUT_DIR [BIN_DIR]      BIN_DIR: default target/release
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "$1")
bin=$(realpath "${2:-target/release}")
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

install -Dm755 "$bin/relayd" "$stage/usr/sbin/relayd"
for p in relayctl relay-gen relay-health; do
  install -Dm755 "$bin/$p" "$stage/usr/bin/$p"
done
install -d "$stage/etc/relay"
"$bin/relayd" --print-default-config > "$stage/etc/relay/example.toml"
install -Dm755 scripts/hugepages.sh "$stage/usr/lib/relay/hugepages.sh"
# The units as shipped in deploy/, with the package's paths.
for u in relayd@.service relayd.service relay-hugepages.service relay-health.service bird.service.d/relay.conf; do
  install -Dm644 "deploy/systemd/$u" "$stage/lib/systemd/system/$u"
  sed -i 's|/usr/local/lib/relay/|/usr/lib/relay/|g; s|/usr/local/bin/|/usr/bin/|g' "$stage/lib/systemd/system/$u"
done
# Man pages and completions: from the binaries themselves, so they match their --help.
for p in relayd:8:sbin relayctl:1:bin relay-gen:1:bin relay-health:1:bin; do
  IFS=: read -r name section dir <<<"$p"
  install -d "$stage/usr/share/man/man$section"
  "$stage/usr/$dir/$name" --man | gzip -9n > "$stage/usr/share/man/man$section/$name.$section.gz"
  install -d "$stage/usr/share/bash-completion/completions" "$stage/usr/share/zsh/vendor-completions" \
    "$stage/usr/share/fish/vendor_completions.d"
  "$stage/usr/$dir/$name" --completions bash > "$stage/usr/share/bash-completion/completions/$name"
  "$stage/usr/$dir/$name" --completions zsh > "$stage/usr/share/zsh/vendor-completions/_$name"
  "$stage/usr/$dir/$name" --completions fish > "$stage/usr/share/fish/vendor_completions.d/$name.fish"
done
install -Dm644 README.md "$stage/usr/share/doc/relay/README.md"
install -Dm644 docs/deploy-bgp.md "$stage/usr/share/doc/relay/deploy-bgp.md"

# Depends: the package of every shared library relayd and relay-gen link, at its installed version.
depends=$(for f in "$stage/usr/sbin/relayd" "$stage/usr/bin/relay-gen"; do ldd "$f"; done \
  | awk '/=> \//{print $3}' | sort -u \
  | while read -r lib; do dpkg -S "$(realpath "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null || true; done \
  | cut -d: -f1 | sort -u \
  | while read -r pkg; do echo "$pkg (>= $(dpkg-query -W -f='${Version}' "$pkg"))"; done | paste -sd, - | sed 's/,/, /g')
# The poll-mode drivers are plugins the EAL loads at start (not in ldd): the virtual devices
# relay is tested with are required, the common NICs' recommended.
dpdk=$(dpkg-query -W -f='${Version}' librte-eal23)
pmds() { for p in "$@"; do printf '%s (>= %s), ' "$p" "$dpdk"; done | sed 's/, $//'; }
depends="$depends, $(pmds librte-bus-vdev23 librte-mempool-ring23 librte-net-tap23 librte-net-pcap23 librte-net-null23 librte-net-memif23 librte-net-ring23 librte-net-af-packet23)"
recommends=$(pmds librte-bus-pci23 librte-net-ixgbe23 librte-net-i40e23 librte-net-ice23 librte-net-mlx5-23)
size=$(du -sk "$stage" | cut -f1)
install -d "$stage/DEBIAN"
cat > "$stage/DEBIAN/control" <<CONTROL
Package: relay
Version: $version
Architecture: $arch
Maintainer: relay developers <relay@example.net>
Installed-Size: $size
Depends: $depends
Recommends: $recommends
Section: net
Priority: optional
Description: DPDK IPv6-transition relay router
 relayd, a poll-mode 6to4 router and relay (RFC 3056, RFC 3068/7526) with configured
 tunnels, ISATAP, 6rd and 6over4, hardened per RFC 3964 and RFC 6324; relayctl, its
 control client; relay-gen, a DPDK traffic generator; relay-health, the agent that
 announces the anycast routes from BIRD only while relayd is healthy.
CONTROL
echo /etc/relay/example.toml > "$stage/DEBIAN/conffiles"
mkdir -p "$out"
deb="$out/relay_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$stage" "$deb" >/dev/null
echo "$deb"
