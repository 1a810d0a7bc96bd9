//! The router as a neighbour (spec section 11): next-hop resolution with ARP (RFC 826)
//! and ND (RFC 4861), learning from what neighbours send, reachability of what was
//! learned, gratuitous ARP and router advertisements. Pure: the state machine runs on a
//! clock it is given, messages are built and checked as bytes; the control core's
//! [`SlowPath`](super::SlowPath) drives it and moves the packets.
//!
//! Workers never wait: a packet whose next hop has no MAC leaves the fast path complete
//! but for its destination MAC (`forward::awaiting_mac`), waits here in a small queue per
//! next hop while an ARP request or NS goes out, and is sent once the answer comes —
//! which also reaches every worker's table as a `NeighbourSet`, like a route change.
mod cache;
mod msg;
mod ra;
mod rx;

pub use cache::{Action, EntryView, How, Neighbours, State, Timers};
pub use msg::{arp_announcement, arp_request, neighbour_solicit, router_advert, solicit_source};
pub(crate) use msg::{nd_packet, PREFERRED_LIFETIME_S, VALID_LIFETIME_S};
pub use ra::RouterAdvertConfig;
pub(crate) use ra::validate as validate_router_adverts;
pub(crate) use rx::{inspect, nd_message, Heard, NdMessage, Received};
