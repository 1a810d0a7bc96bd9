//! DPDK telemetry commands (`/relay/...`), so `dpdk-telemetry.py` shows relay's counters next to
//! DPDK's own port stats.
use std::ffi::{c_char, c_int, CStr, CString};
use std::sync::{Arc, Mutex, OnceLock};

use super::stats::StatsHub;

static HUB: OnceLock<Arc<StatsHub>> = OnceLock::new();
/// The daemon's latest health verdict (`healthy` or `unhealthy: …`), set by its control core.
static HEALTH: Mutex<String> = Mutex::new(String::new());

/// Publishes the health verdict `/relay/health` reports.
pub fn set_health(verdict: &str) {
    if let Ok(mut h) = HEALTH.lock() {
        if *h != verdict {
            h.clear();
            h.push_str(verdict);
        }
    }
}

/// (command, help): the commands relay registers.
pub const COMMANDS: &[(&str, &str)] = &[
    ("/relay/stats", "relay runtime counters summed over workers"),
    ("/relay/drops", "relay pipeline counters (drop reasons) summed over workers"),
    ("/relay/workers", "per-worker counters; parameter: worker index"),
    ("/relay/health", "healthy (1/0) and status: the answer of relayctl health"),
];

/// Registers the commands; the hub serves them for the rest of the process.
pub fn register(hub: Arc<StatsHub>) -> Result<(), String> {
    if HUB.set(hub).is_err() {
        return Ok(()); // already registered in this process
    }
    for (cmd, help) in COMMANDS {
        let c = CString::new(*cmd).map_err(|e| e.to_string())?;
        let h = CString::new(*help).map_err(|e| e.to_string())?;
        // SAFETY: DPDK copies neither string, so they are leaked to live for the process; the
        // callback is a plain extern "C" fn that only reads HUB.
        let ret = unsafe { dpdk_sys::rte_telemetry_register_cmd(c.into_raw(), Some(callback), h.into_raw()) };
        if ret != 0 {
            return Err(format!("telemetry command {cmd}: error {ret}"));
        }
    }
    Ok(())
}

unsafe extern "C" fn callback(cmd: *const c_char, params: *const c_char, d: *mut dpdk_sys::rte_tel_data) -> c_int {
    let Some(hub) = HUB.get() else { return -1 };
    // SAFETY: DPDK passes NUL-terminated strings (params may be NULL) valid for this call.
    let cmd = unsafe { CStr::from_ptr(cmd) }.to_string_lossy();
    let params = if params.is_null() {
        String::new()
    } else {
        // SAFETY: as above.
        unsafe { CStr::from_ptr(params) }.to_string_lossy().into_owned()
    };
    if cmd == "/relay/health" {
        let status = HEALTH.lock().map(|h| h.clone()).unwrap_or_default();
        let Ok(text) = CString::new(status.as_str()) else { return -libc::EINVAL };
        // SAFETY: d is the output object DPDK handed us; DPDK copies the strings. (Byte
        // literals, not c"": the workspace's rust-version is 1.75.)
        #[allow(clippy::manual_c_str_literals)]
        unsafe {
            dpdk_sys::rte_tel_data_start_dict(d);
            dpdk_sys::rte_tel_data_add_dict_u64(d, b"healthy\0".as_ptr().cast(), u64::from(status == "healthy"));
            dpdk_sys::rte_tel_data_add_dict_string(d, b"status\0".as_ptr().cast(), text.as_ptr());
        }
        return 0;
    }
    let snap = hub.snapshot();
    let pairs: Vec<(String, u64)> = match cmd.as_ref() {
        "/relay/stats" => snap.runtime.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
        "/relay/drops" => snap.pipeline.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
        "/relay/workers" => {
            let Ok(i) = params.trim().parse::<usize>() else { return -libc::EINVAL };
            let Some(w) = snap.per_worker.get(i) else { return -libc::EINVAL };
            let mut v: Vec<(String, u64)> = super::stats::WorkerCounters::NAMES
                .iter()
                .map(|n| n.to_string())
                .zip(w.runtime.iter().copied())
                .collect();
            v.push(("lcore".into(), w.lcore as u64));
            v.push(("generation".into(), w.generation));
            v
        }
        _ => return -libc::EINVAL,
    };
    // SAFETY: d is the output object DPDK handed us for this call.
    unsafe { dpdk_sys::rte_tel_data_start_dict(d) };
    for (name, value) in pairs {
        let Ok(name) = CString::new(name) else { continue };
        // SAFETY: d is valid; DPDK copies the name (bounded to its own limit).
        unsafe { dpdk_sys::rte_tel_data_add_dict_u64(d, name.as_ptr(), value) };
    }
    0
}
