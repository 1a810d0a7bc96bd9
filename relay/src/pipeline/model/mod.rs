//! **model** — what the router *is*, built once from the configuration and changed only by
//! control-plane updates: validated settings (ports, roles, the automatic mechanisms'
//! parameters), our own addresses compiled for fast tests ([`Host`]), the address
//! predicates and the RFC 3964 deny list, the table set (routes, next hops, configured
//! tunnels, neighbours), the route text grammar, the drop reasons and counters (per
//! worker, and per configured tunnel), and the
//! packet-buffer trait the stages work on. No per-packet code.
//!
//! May import: `crate::wire`, `crate::lpm` — never `mech`, `fast` or `slow`.
pub mod addr;
pub mod automatic;
mod buf;
pub mod counters;
pub mod error;
pub mod host;
pub mod route_text;
pub mod settings;
pub mod tables;
pub mod tunnel_counters;
mod v4set;
pub mod verdict;

pub use buf::{PacketBuf, TestBuf};
pub(crate) use buf::grow_tail;
pub use verdict::{DropReason, Verdict};
