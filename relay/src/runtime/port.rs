//! An ethdev port: configured, queues set up, started; stopped and closed on drop.
use std::ffi::{CStr, CString};
use std::mem::MaybeUninit;

use super::{EalError, Mbuf, Mempool};

/// How to bring a port up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    /// The ethdev name: a PCI address (`0000:01:00.0`) or a vdev name (`net_pcap0`).
    pub name: String,
    pub rx_queues: u16,
    pub tx_queues: u16,
    pub rx_desc: u16,
    pub tx_desc: u16,
    /// Set this MAC instead of the device's own.
    pub mac: Option<[u8; 6]>,
    pub promiscuous: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkStatus {
    pub up: bool,
    pub speed_mbps: u32,
    pub full_duplex: bool,
}

/// The device's own counters (`rte_eth_stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortStats {
    pub ipackets: u64,
    pub opackets: u64,
    pub ibytes: u64,
    pub obytes: u64,
    pub imissed: u64,
    pub ierrors: u64,
    pub oerrors: u64,
    pub rx_nombuf: u64,
}

pub struct Port {
    id: u16,
    name: String,
    mac: [u8; 6],
    rss: bool,
    software_mac: bool,
    started: bool,
}

fn check(what: impl FnOnce() -> String, ret: i32) -> Result<(), EalError> {
    if ret < 0 {
        Err(EalError::last(what(), ret))
    } else {
        Ok(())
    }
}

impl Port {
    /// Finds the port by name, configures `spec.rx_queues`/`tx_queues` (RSS on IP addresses when
    /// there is more than one rx queue: for protocol 41 the outer IPv4 pair is what spreads
    /// flows), sets up the queues from `pool`, sets the MAC and starts it.
    pub fn open(spec: &PortSpec, pool: &Mempool) -> Result<Port, EalError> {
        let id = Self::find(&spec.name)?;
        let ctx = |what: &str| format!("port {} ({}): {what}", spec.name, id);

        let mut info = MaybeUninit::<dpdk_sys::rte_eth_dev_info>::zeroed();
        // SAFETY: id is a valid port; info is writable storage for the struct.
        check(|| ctx("dev_info_get"), unsafe { dpdk_sys::rte_eth_dev_info_get(id, info.as_mut_ptr()) })?;
        // SAFETY: rte_eth_dev_info_get succeeded and filled the struct.
        let info = unsafe { info.assume_init() };
        if spec.rx_queues > info.max_rx_queues || spec.tx_queues > info.max_tx_queues {
            return Err(EalError {
                what: ctx("queues"),
                errno: libc::EINVAL,
                reason: format!(
                    "asked for {} rx / {} tx queues, the device has at most {} / {}",
                    spec.rx_queues, spec.tx_queues, info.max_rx_queues, info.max_tx_queues
                ),
            });
        }

        let mut conf = dpdk_sys::rte_eth_conf::default();
        // SAFETY: a constant getter.
        let rss_hf = unsafe { dpdk_sys::relay_rss_ip() } & info.flow_type_rss_offloads;
        let rss = spec.rx_queues > 1 && rss_hf != 0;
        if spec.rx_queues > 1 {
            conf.rxmode.mq_mode = dpdk_sys::RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
        }
        // SAFETY: valid port, conf fully initialised.
        check(|| ctx("configure"), unsafe {
            dpdk_sys::rte_eth_dev_configure(id, spec.rx_queues, spec.tx_queues, &conf)
        })?;

        let mut rx_desc = spec.rx_desc;
        let mut tx_desc = spec.tx_desc;
        // SAFETY: valid port; the function clamps the counts to the device's limits in place.
        check(|| ctx("adjust descriptors"), unsafe {
            dpdk_sys::rte_eth_dev_adjust_nb_rx_tx_desc(id, &mut rx_desc, &mut tx_desc)
        })?;
        // SAFETY: a getter for a valid port.
        let socket = unsafe { dpdk_sys::rte_eth_dev_socket_id(id) };
        let socket = if socket < 0 { 0 } else { socket as u32 };
        for q in 0..spec.rx_queues {
            // SAFETY: valid port and queue index below the configured count; NULL rxconf means
            // the driver default; the pool outlives the port (relayd drops ports first).
            check(|| ctx(&format!("rx queue {q}")), unsafe {
                dpdk_sys::rte_eth_rx_queue_setup(id, q, rx_desc, socket, std::ptr::null(), pool.as_ptr())
            })?;
        }
        for q in 0..spec.tx_queues {
            // SAFETY: as above, for tx.
            check(|| ctx(&format!("tx queue {q}")), unsafe {
                dpdk_sys::rte_eth_tx_queue_setup(id, q, tx_desc, socket, std::ptr::null())
            })?;
        }
        let mut software_mac = None;
        if let Some(mac) = spec.mac {
            let mut addr = dpdk_sys::rte_ether_addr { addr_bytes: mac };
            // SAFETY: valid port and address.
            let ret = unsafe { dpdk_sys::rte_eth_dev_default_mac_addr_set(id, &mut addr) };
            if ret == -libc::ENOTSUP {
                // Some vdevs (net_pcap) have no MAC filter to program: the MAC is ours in
                // software only, and the port must hear every frame.
                software_mac = Some(mac);
            } else {
                check(|| ctx("set MAC"), ret)?;
            }
        }
        if spec.promiscuous || software_mac.is_some() {
            // SAFETY: valid port. Not every vdev supports it; that is not fatal.
            unsafe { dpdk_sys::rte_eth_promiscuous_enable(id) };
        }
        // SAFETY: valid, configured port.
        check(|| ctx("start"), unsafe { dpdk_sys::rte_eth_dev_start(id) })?;

        let mut addr = dpdk_sys::rte_ether_addr::default();
        // SAFETY: valid port; addr is writable.
        check(|| ctx("read MAC"), unsafe { dpdk_sys::rte_eth_macaddr_get(id, &mut addr) })?;
        let mac = software_mac.unwrap_or(addr.addr_bytes);
        Ok(Port { id, name: spec.name.clone(), mac, rss, software_mac: software_mac.is_some(), started: true })
    }

    fn find(name: &str) -> Result<u16, EalError> {
        let cname = CString::new(name).map_err(|_| EalError {
            what: format!("port {name:?}"),
            errno: libc::EINVAL,
            reason: "name contains a NUL byte".into(),
        })?;
        let mut id = 0u16;
        // SAFETY: valid C string and out pointer.
        let ret = unsafe { dpdk_sys::rte_eth_dev_get_port_by_name(cname.as_ptr(), &mut id) };
        if ret != 0 {
            return Err(EalError {
                what: format!("port {name:?}"),
                errno: -ret,
                reason: "no such ethdev (check the vdev string or the PCI address and its driver binding)".into(),
            });
        }
        Ok(id)
    }

    pub fn id(&self) -> u16 {
        self.id
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }
    pub fn rss(&self) -> bool {
        self.rss
    }
    /// The configured MAC could not be programmed into the device; it is used in software
    /// and the port runs promiscuous.
    pub fn software_mac(&self) -> bool {
        self.software_mac
    }

    pub fn driver(&self) -> String {
        let mut info = MaybeUninit::<dpdk_sys::rte_eth_dev_info>::zeroed();
        // SAFETY: valid port; on success driver_name points to a static string of the driver.
        unsafe {
            if dpdk_sys::rte_eth_dev_info_get(self.id, info.as_mut_ptr()) != 0 {
                return String::from("?");
            }
            let info = info.assume_init();
            if info.driver_name.is_null() {
                return String::from("?");
            }
            CStr::from_ptr(info.driver_name).to_string_lossy().into_owned()
        }
    }

    pub fn link(&self) -> LinkStatus {
        Self::link_of(self.id)
    }

    /// The link by port id, without waiting (safe from the control core while workers poll:
    /// rte_eth_link_get_nowait only reads the device's status).
    pub fn link_of(id: u16) -> LinkStatus {
        let mut link = dpdk_sys::rte_eth_link::default();
        // SAFETY: link is writable. On failure (no such port) it stays zeroed (down).
        unsafe { dpdk_sys::rte_eth_link_get_nowait(id, &mut link) };
        LinkStatus {
            up: link.link_status() != 0,
            speed_mbps: link.link_speed,
            full_duplex: link.link_duplex() != 0,
        }
    }

    pub fn stats(&self) -> PortStats {
        Self::stats_of(self.id)
    }

    /// Device counters by port id (safe from any thread: rte_eth_stats_get only reads).
    pub fn stats_of(id: u16) -> PortStats {
        let mut s = MaybeUninit::<dpdk_sys::rte_eth_stats>::zeroed();
        // SAFETY: s is writable storage; on failure it stays zeroed.
        let s = unsafe {
            dpdk_sys::rte_eth_stats_get(id, s.as_mut_ptr());
            s.assume_init()
        };
        PortStats {
            ipackets: s.ipackets,
            opackets: s.opackets,
            ibytes: s.ibytes,
            obytes: s.obytes,
            imissed: s.imissed,
            ierrors: s.ierrors,
            oerrors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        }
    }

    /// Receives up to `out.len()` packets from `queue` into `out`; returns how many. Call only
    /// from the one lcore that owns `queue`.
    #[inline(always)]
    pub fn rx_burst(id: u16, queue: u16, out: &mut [MaybeUninit<Mbuf>]) -> usize {
        let n = out.len().min(u16::MAX as usize) as u16;
        // SAFETY: MaybeUninit<Mbuf> has the layout of `*mut rte_mbuf` (Mbuf is transparent over
        // NonNull); the driver writes `ret` valid, owned mbuf pointers at the front of `out`.
        // Queue ownership by one lcore is the caller's contract (DPDK queues are not MT-safe).
        unsafe { dpdk_sys::relay_eth_rx_burst(id, queue, out.as_mut_ptr() as *mut *mut dpdk_sys::rte_mbuf, n) as usize }
    }

    /// Stops and closes the port: the driver frees the mbufs held in its rings.
    pub fn close(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if self.started {
            self.started = false;
            // SAFETY: valid port, no lcore polls it any more (workers are joined first).
            unsafe {
                dpdk_sys::rte_eth_dev_stop(self.id);
                dpdk_sys::rte_eth_dev_close(self.id);
            }
        }
    }
}

impl Drop for Port {
    fn drop(&mut self) {
        self.shutdown();
    }
}
