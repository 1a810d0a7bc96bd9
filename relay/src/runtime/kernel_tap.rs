//! A kernel TAP interface opened through `/dev/net/tun`: the control core's door to the
//! host's network stack (the routing daemon's BGP and BFD sessions run over it). Frames are
//! read and written whole, without the `tun_pi` header, on a non-blocking descriptor; the
//! interface disappears when the descriptor closes (relayd's exit, or a crash).
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

/// `TUNSETIFF` = `_IOW('T', 202, int)` (linux/if_tun.h).
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;

/// `struct ifreq` as TUNSETIFF reads it: the name, then the flags (the rest of the union
/// is padding the kernel does not read for this call).
#[repr(C)]
struct IfReq {
    name: [libc::c_char; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

#[derive(Debug, thiserror::Error)]
pub enum TapError {
    #[error("TAP name {0:?}: 1..=15 bytes, no NUL")]
    Name(String),
    #[error("TAP {name}: {what}: {source}")]
    Io { name: String, what: &'static str, source: io::Error },
}

pub struct KernelTap {
    file: File,
    name: String,
}

impl KernelTap {
    /// Creates (or attaches to a persistent) TAP interface `name`, non-blocking.
    pub fn open(name: &str) -> Result<KernelTap, TapError> {
        let bytes = name.as_bytes();
        if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
            return Err(TapError::Name(name.to_owned()));
        }
        let io = |what| move |source| TapError::Io { name: name.to_owned(), what, source };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open("/dev/net/tun")
            .map_err(io("open /dev/net/tun"))?;
        let mut req = IfReq { name: [0; libc::IFNAMSIZ], flags: IFF_TAP | IFF_NO_PI, _pad: [0; 22] };
        for (d, &s) in req.name.iter_mut().zip(bytes) {
            *d = s as libc::c_char;
        }
        // SAFETY: the descriptor is open and ours; `req` is a live, properly laid out ifreq
        // (name NUL-terminated: shorter than IFNAMSIZ, zero-filled) that the kernel reads and
        // writes only within its 40 bytes during the call.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF as _, &mut req as *mut IfReq) };
        if rc < 0 {
            return Err(io("TUNSETIFF")(io::Error::last_os_error()));
        }
        Ok(KernelTap { file, name: name.to_owned() })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// One frame from the kernel into `buf`: `Ok(None)` when none is waiting.
    pub fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match self.file.read(buf) {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One frame to the kernel; false if its queue is full (the frame is dropped, as a NIC
    /// would).
    pub fn send(&mut self, frame: &[u8]) -> io::Result<bool> {
        match self.file.write(frame) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_kernel_cannot_take_are_refused_before_any_call() {
        for bad in ["", "sixteen-bytes-xx", "a\0b"] {
            assert!(matches!(KernelTap::open(bad), Err(TapError::Name(n)) if n == bad), "{bad:?}");
        }
    }
}
