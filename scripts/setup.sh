#!/usr/bin/env bash
# Installs what relay needs on Debian 12 (run as root). Idempotent: installs only what is
# missing. Used by the README's commands, CI, and by hand.
set -euo pipefail

PKGS=(
  dpdk libdpdk-dev dpdk-doc dpdk-dev # DPDK 22.11 LTS: libraries, headers, examples (l3fwd), testpmd and telemetry tools
  libclang-dev clang pkg-config      # bindgen for dpdk-sys
  build-essential libpcap-dev        # the C shim; DPDK examples
  iproute2 iputils-ping traceroute   # network namespaces, veth, TAP, ping and traceroute6 for the lab and e2e tests
  tshark tcpdump python3-scapy       # independent decoders and packet builders in tests
  valgrind                           # instruction counts in the benchmark suite
  bird2                              # the routing daemon of the BGP tests (tests/bgp.rs)
  systemd                            # systemd-analyze verify of deploy/systemd (tests/deploy.rs)
  postgresql                         # PostgreSQL 15: the broker's storage tests start their own cluster
  ddclient                           # the dyndns2 client of the broker's endpoint-update test
  bind9 bind9-dnsutils               # BIND 9 (named), dig and nsupdate: the broker's DNS-update test
  chromium chromium-driver           # headless Chromium and chromedriver: the broker's web page test (WebDriver)
  openssl curl                       # a certificate and an HTTPS client: the broker's TLS test
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer for it.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  # ddclient: not a daemon (only on PPP connect, which never happens here): the broker's test
  # runs it by hand; its default configuration would update a public dynamic-DNS service.
  debconf-set-selections <<'EOF'
ddclient ddclient/method select Network interface
ddclient ddclient/interface string ppp0
ddclient ddclient/run_mode select On PPP connect
EOF
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# BIND's package starts a system named on port 53 where systemd runs: the broker's DNS test
# starts its own on a free port, so the system one is not left enabled or running.
if [ -d /run/systemd/system ] && systemctl list-unit-files named.service >/dev/null 2>&1; then
  systemctl disable --now named.service >/dev/null 2>&1 || true
fi

# ddclient installed earlier as a daemon (or by hand): never left enabled or running. The tests
# start their own PostgreSQL cluster; the system's is left as Debian set it up.
if [ -e /etc/init.d/ddclient ]; then
  update-rc.d ddclient disable >/dev/null 2>&1 || true
  if [ -d /run/systemd/system ]; then
    systemctl disable --now ddclient.service >/dev/null 2>&1 || true
  else
    rm -f /etc/systemd/system/multi-user.target.wants/ddclient.service
    invoke-rc.d ddclient stop >/dev/null 2>&1 || true
  fi
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: no Rust toolchain (cargo) found; install one with rustup (https://rustup.rs)" >&2
    exit 1
  fi
fi
pkg-config --atleast-version=22.11 libdpdk || { echo "setup: DPDK >= 22.11 not found by pkg-config" >&2; exit 1; }
echo "setup: ok (DPDK $(pkg-config --modversion libdpdk), $(cargo --version))"
