//! EAL initialisation (once per process) and lcore launch.
use std::ffi::{c_int, c_void, CStr, CString};
use std::fmt;
use std::sync::Mutex;

/// An EAL failure with DPDK's own explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EalError {
    pub what: String,
    pub errno: i32,
    pub reason: String,
}

impl fmt::Display for EalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (errno {})", self.what, self.reason, self.errno)
    }
}
impl std::error::Error for EalError {}

impl EalError {
    /// Builds the error from `rte_errno` (or from a negative return value when given).
    pub(crate) fn last(what: impl Into<String>, ret: i32) -> Self {
        // SAFETY: rte_errno is a per-lcore variable; reading it from this thread is what DPDK
        // documents for reporting the last failure of this thread.
        let errno = if ret < 0 { -ret } else { unsafe { dpdk_sys::relay_errno() } };
        // SAFETY: rte_strerror returns a pointer to a static or thread-local NUL-terminated
        // string, valid until the next call on this thread; we copy it out at once.
        let reason = unsafe { CStr::from_ptr(dpdk_sys::rte_strerror(errno)) }
            .to_string_lossy()
            .into_owned();
        EalError { what: what.into(), errno, reason }
    }
}

/// The initialised EAL. It lives for the rest of the process: DPDK cannot be initialised twice,
/// so the first successful init is kept and later calls get the same handle back.
#[derive(Debug, Clone, Copy)]
pub struct Eal {
    _private: (),
}

static INIT: Mutex<Option<Result<(), EalError>>> = Mutex::new(None);

impl Eal {
    /// Initialises the EAL with `args` (`args[0]` is the program name). Later calls return the
    /// outcome of the first one: tests in one process share a single EAL.
    pub fn init<S: AsRef<str>>(args: &[S]) -> Result<Eal, EalError> {
        let mut state = INIT.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(result) = state.as_ref() {
            return result.clone().map(|_| Eal { _private: () });
        }
        let result = Self::init_once(args);
        *state = Some(result.clone());
        result.map(|_| Eal { _private: () })
    }

    fn init_once<S: AsRef<str>>(args: &[S]) -> Result<(), EalError> {
        let owned: Vec<CString> = args
            .iter()
            .map(|a| CString::new(a.as_ref()))
            .collect::<Result<_, _>>()
            .map_err(|_| EalError {
                what: "EAL arguments".into(),
                errno: libc::EINVAL,
                reason: "an argument contains a NUL byte".into(),
            })?;
        // rte_eal_init may permute argv, and keeps pointers into it for the process lifetime:
        // leak the strings and the array on purpose.
        let mut argv: Vec<*mut libc::c_char> =
            owned.into_iter().map(|c| c.into_raw()).collect();
        let argc = argv.len() as c_int;
        let ptr = argv.as_mut_ptr();
        std::mem::forget(argv);
        // SAFETY: argv holds argc valid NUL-terminated strings that live forever (leaked above),
        // and this runs at most once per process (guarded by INIT).
        let ret = unsafe { dpdk_sys::rte_eal_init(argc, ptr) };
        if ret < 0 {
            return Err(EalError::last("rte_eal_init", 0));
        }
        Ok(())
    }

    pub fn main_lcore(&self) -> u32 {
        // SAFETY: a getter of EAL configuration, valid after init.
        unsafe { dpdk_sys::rte_get_main_lcore() }
    }

    /// The worker lcores the EAL was given (`-l`/`--lcores`), in id order, main lcore excluded.
    pub fn worker_lcores(&self) -> Vec<u32> {
        let mut out = Vec::new();
        // SAFETY: rte_get_next_lcore walks the EAL's lcore table, valid after init; with
        // skip_main=1 and wrap=0 it ends with RTE_MAX_LCORE.
        let mut id = unsafe { dpdk_sys::rte_get_next_lcore(u32::MAX, 1, 0) };
        while id < dpdk_sys::RTE_MAX_LCORE {
            out.push(id);
            // SAFETY: as above.
            id = unsafe { dpdk_sys::rte_get_next_lcore(id, 1, 0) };
        }
        out
    }

    /// The number of ethdev ports the EAL probed.
    pub fn port_count(&self) -> u16 {
        // SAFETY: a getter, valid after init.
        unsafe { dpdk_sys::rte_eth_dev_count_avail() }
    }

    /// The lcore the calling thread runs as (u32::MAX for an unregistered thread).
    pub fn current_lcore() -> u32 {
        // SAFETY: reads this thread's per-lcore id.
        unsafe { dpdk_sys::relay_lcore_id() }
    }
}

type Job = Box<dyn FnOnce() -> i32 + Send + 'static>;

unsafe extern "C" fn trampoline(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the Box<Job> leaked by launch_on_lcore, handed to exactly one lcore.
    let job = unsafe { Box::from_raw(arg as *mut Job) };
    job()
}

/// Runs `job` on the EAL worker lcore `lcore` (`rte_eal_remote_launch`): the thread is an EAL
/// thread, so mempool per-lcore caches and `rte_lcore_id()` work there.
pub fn launch_on_lcore<F>(_eal: &Eal, lcore: u32, job: F) -> Result<(), EalError>
where
    F: FnOnce() -> i32 + Send + 'static,
{
    let boxed: Box<Job> = Box::new(Box::new(job));
    let raw = Box::into_raw(boxed) as *mut c_void;
    // SAFETY: trampoline takes ownership of `raw` exactly once when the lcore runs it.
    let ret = unsafe { dpdk_sys::rte_eal_remote_launch(Some(trampoline), raw, lcore) };
    if ret != 0 {
        // SAFETY: the launch failed, so the lcore never saw `raw`: reclaim it.
        drop(unsafe { Box::from_raw(raw as *mut Job) });
        return Err(EalError::last(format!("launch on lcore {lcore}"), ret));
    }
    Ok(())
}

/// Waits for the job on `lcore` to return, and gives its return value.
pub fn wait_lcore(_eal: &Eal, lcore: u32) -> i32 {
    // SAFETY: waits on an EAL worker lcore; harmless if it is idle.
    unsafe { dpdk_sys::rte_eal_wait_lcore(lcore) }
}
