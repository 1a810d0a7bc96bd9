//! The FIB mirror: relayd follows one kernel routing table (IPv6 and IPv4) through rtnetlink,
//! so a routing daemon (BIRD, FRR) that installs its routes there feeds relayd's tables: its
//! IPv6 routes, and its IPv4 routes as outer routes (where tunnel packets leave).
//!
//! The kernel table is the input, relayd's tables the output. What the kernel holds is kept
//! per prefix and metric (the kernel may hold one prefix at several metrics; the lowest is
//! the one in use); what relayd installed from it is kept per prefix. Each batch of kernel
//! changes is turned into the difference between the two and applied through the control
//! path as one batch (all-or-nothing, one generation, hitless for the workers). A prefix that
//! relayd holds from its configuration or from `relayctl` (a static route) is never touched:
//! the kernel's route for it is counted as shadowed and installed only once the static one
//! is gone. At start, and after the kernel dropped notifications (ENOBUFS), a full dump
//! replaces what was known and whatever vanished is removed.
use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteType};
use netlink_packet_route::AddressFamily;
use netlink_packet_route::route::RouteNextHopFlags;
use relay::pipeline::{GroupMember, NextHopGroup, Route4Target, RouteTarget, TableUpdate, Tables, KERNEL_GROUPS};
use relay::runtime::control::ControlPlane;

use super::netlink::{Events, NetlinkError, RouteEvent, RouteEvents, Rtnl};

/// Notification datagrams read per control-loop turn: a table load is applied in batches
/// of this many (the kernel sends one route per datagram) while the loop keeps serving
/// everything else, about a millisecond per turn. At 64 a full table arrived faster than the
/// batches went (each waits for the workers to hand the standby tables back) and overran
/// the socket; at 1024 benches/src/bin/fib-bench.rs saw no overrun at 250k routes.
const READS_PER_POLL: usize = 1024;

/// An IPv6 route's prefix, or an IPv4 (outer) route's.
pub type Prefix = (IpAddr, u8);

/// Where a kernel route points: one next hop, or several (a multipath route), which
/// relayd installs as a next-hop group of its own (ids from [`KERNEL_GROUPS`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KernelHop {
    One(RouteTarget),
    /// Two or more members, sorted, so that routes with the same members share a group.
    Multi(Vec<GroupMember>),
    /// An IPv4 route: an outer route of relayd's.
    Outer(Route4Target),
}

/// A kernel route relayd can install: where it points and who put it in the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelRoute {
    pub hop: KernelHop,
    pub protocol: RouteProtocol,
}

/// Why a kernel route is not mirrored. Each has its own counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// Another table than the mirrored one (the notifications cover every table).
    OtherTable,
    /// Local, broadcast, multicast, anycast, throw, NAT routes: nothing a forwarder takes.
    Type,
    /// Out of an interface that is not one of relayd's control TAPs.
    ForeignInterface,
    /// Neither a gateway nor an interface of ours, nor a drop type.
    NoNextHop,
    /// A gateway of the other family (an IPv4 next hop for an IPv6 route, RFC 5549, or the
    /// reverse): not supported.
    GatewayFamily,
}

macro_rules! fib_counters {
    ($($f:ident => $help:literal),* $(,)?) => {
        /// What the mirror did, for `stats` and Prometheus.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct FibCounters { $(pub $f: u64),* }
        impl FibCounters {
            pub const HELP: &'static [(&'static str, &'static str)] = &[$((stringify!($f), $help)),*];
            pub fn values(&self) -> Vec<(&'static str, u64)> { vec![$((stringify!($f), self.$f)),*] }
        }
    };
}
fib_counters!(
    added => "Kernel routes installed or replaced in relayd's tables.",
    removed => "Kernel routes removed from relayd's tables (withdrawn, or gone at a resync).",
    shadowed => "Kernel routes not installed: relayd holds a static route for the prefix.",
    refused => "Kernel routes relayd's tables refused (bad prefix or next hop); logged.",
    multipath => "Multipath kernel routes installed through a next-hop group.",
    multipath_reduced => "Multipath kernel routes installed without some members (out of foreign interfaces, dead, other-family gateways; an IPv4 route keeps one).",
    groups_added => "Next-hop groups created for multipath kernel routes.",
    groups_removed => "Next-hop groups removed when their last kernel route went.",
    skipped_other_table => "Route notifications for other kernel tables, ignored.",
    skipped_type => "Local, broadcast, multicast, anycast, throw and NAT routes, ignored.",
    skipped_foreign_interface => "Kernel routes out of interfaces that are not control TAPs, ignored.",
    skipped_no_next_hop => "Kernel routes with neither a next hop of ours nor a drop type, ignored.",
    skipped_gateway_family => "Kernel routes with a gateway of the other address family, ignored.",
    undecodable => "Netlink messages that did not decode, skipped.",
    overruns => "Times the kernel dropped route notifications (ENOBUFS); each causes a resync.",
    resyncs => "Full dumps of the kernel table (start, overruns, interrupted dumps).",
    dumps_interrupted => "Resyncs whose dump the kernel marked interrupted (the table changed during it) every time; dumped again on the next turn.",
    batches => "Batches of changes applied to relayd's tables.",
);

/// The kernel's routes for one prefix by metric, lowest (the one in use) first. Nearly always
/// one: a vector of one costs a fortieth of a map node, which a full table feels (1M routes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Metrics(Vec<(u32, KernelRoute)>);

impl Metrics {
    fn insert(&mut self, metric: u32, route: KernelRoute) {
        match self.0.binary_search_by_key(&metric, |(m, _)| *m) {
            Ok(i) => self.0[i].1 = route,
            Err(i) => self.0.insert(i, (metric, route)),
        }
    }

    fn remove(&mut self, metric: u32) {
        self.0.retain(|(m, _)| *m != metric);
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn best(&self) -> Option<&KernelRoute> {
        self.0.first().map(|(_, r)| r)
    }
}

/// The mirror's knowledge and its sockets.
pub struct FibMirror {
    table: u32,
    /// Interface index → relayd port, for the control TAPs.
    ports: Vec<(u32, u16)>,
    rtnl: Rtnl,
    events: RouteEvents,
    /// What the kernel table holds, per prefix and metric (translated).
    kernel: HashMap<Prefix, Metrics>,
    /// What relayd's tables hold from the kernel.
    installed: HashMap<Prefix, KernelRoute>,
    /// The next-hop groups made for multipath routes, by members: their id and how many
    /// installed routes use them.
    groups: HashMap<Vec<GroupMember>, (u16, usize)>,
    counters: FibCounters,
    /// Kernel routes we could not install, logged once each until they change.
    logged: BTreeSet<Prefix>,
    /// The last dump was interrupted by changes (it may miss routes): dump again.
    resync_due: bool,
}

/// The table id of a route (above 255 it is in an attribute).
fn table_of(r: &RouteMessage) -> u32 {
    r.attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(r.header.table))
}

fn metric_of(r: &RouteMessage) -> u32 {
    r.attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Priority(p) => Some(*p),
            _ => None,
        })
        .unwrap_or(0)
}

/// The route's destination prefix (`::/0` or `0.0.0.0/0` without a destination attribute),
/// None for another family or an address that does not match the route's family.
fn prefix_of(r: &RouteMessage) -> Option<Prefix> {
    let v4 = match r.header.address_family {
        AddressFamily::Inet6 => false,
        AddressFamily::Inet => true,
        _ => return None,
    };
    let addr = r.attributes.iter().find_map(|a| match a {
        RouteAttribute::Destination(RouteAddress::Inet6(d)) if !v4 => Some(Some(IpAddr::V6(*d))),
        RouteAttribute::Destination(RouteAddress::Inet(d)) if v4 => Some(Some(IpAddr::V4(*d))),
        RouteAttribute::Destination(_) => Some(None),
        _ => None,
    });
    let default = if v4 { IpAddr::V4(Ipv4Addr::UNSPECIFIED) } else { IpAddr::V6(Ipv6Addr::UNSPECIFIED) };
    match addr {
        None => Some((default, r.header.destination_prefix_length)),
        Some(d) => d.map(|d| (d, r.header.destination_prefix_length)),
    }
}

fn port_of(oif: Option<u32>, ports: &[(u32, u16)]) -> Result<Option<u16>, Skip> {
    match oif {
        Some(i) => Ok(Some(ports.iter().find(|(idx, _)| *idx == i).map(|&(_, p)| p).ok_or(Skip::ForeignInterface)?)),
        None => Ok(None),
    }
}

/// One next hop of an IPv4 route as an outer route's target: a gateway on a control TAP.
/// A route out of an interface with no gateway is a connected one, which relayd holds from
/// its own interfaces.
fn hop4_target(gateway: Option<&RouteAddress>, oif: Option<u32>, ports: &[(u32, u16)]) -> Result<Route4Target, Skip> {
    match (gateway, port_of(oif, ports)?) {
        (Some(RouteAddress::Inet(g)), Some(port)) => Ok(Route4Target::Via { gateway: *g, port }),
        (Some(RouteAddress::Inet(_)), None) | (None, _) => Err(Skip::NoNextHop),
        (Some(_), _) => Err(Skip::GatewayFamily),
    }
}

/// One next hop (a route's own attributes, or one member of a multipath route) as a target.
fn hop_target(gateway: Option<&RouteAddress>, oif: Option<u32>, ports: &[(u32, u16)]) -> Result<RouteTarget, Skip> {
    let port = port_of(oif, ports)?;
    match (gateway, port) {
        (Some(RouteAddress::Inet6(g)), Some(port)) => Ok(RouteTarget::Via { gateway: *g, port }),
        (Some(RouteAddress::Inet6(_)), None) => Err(Skip::NoNextHop),
        (Some(_), _) => Err(Skip::GatewayFamily),
        (None, Some(port)) => Ok(RouteTarget::Connected { port }),
        (None, None) => Err(Skip::NoNextHop),
    }
}

/// What a kernel route means to relayd: its prefix and metric, and the route to install
/// (with whether a multipath route lost members), or why it is not mirrored.
/// `MAX_GROUP_MEMBERS` is not checked here: the tables refuse a larger group, counted as
/// `refused`.
pub fn translate(r: &RouteMessage, table: u32, ports: &[(u32, u16)]) -> Result<(Prefix, u32, KernelRoute, bool), Skip> {
    if table_of(r) != table {
        return Err(Skip::OtherTable);
    }
    let prefix = prefix_of(r).ok_or(Skip::NoNextHop)?;
    let metric = metric_of(r);
    let route = |hop| KernelRoute { hop, protocol: r.header.protocol };
    let v4 = prefix.0.is_ipv4();
    match r.header.kind {
        RouteType::BlackHole | RouteType::Unreachable | RouteType::Prohibit => {
            let hop = if v4 { KernelHop::Outer(Route4Target::Blackhole) } else { KernelHop::One(RouteTarget::Blackhole) };
            return Ok((prefix, metric, route(hop), false));
        }
        RouteType::Unicast => {}
        _ => return Err(Skip::Type),
    }
    let gateway = r.attributes.iter().find_map(|a| match a {
        RouteAttribute::Gateway(g) => Some(g),
        _ => None,
    });
    let oif = r.attributes.iter().find_map(|a| match a {
        RouteAttribute::Oif(i) => Some(*i),
        _ => None,
    });
    let members = r.attributes.iter().find_map(|a| match a {
        RouteAttribute::MultiPath(m) => Some(m),
        _ => None,
    });
    if v4 {
        return translate4(prefix, metric, route, gateway, oif, members, ports);
    }
    let Some(members) = members else {
        return Ok((prefix, metric, route(KernelHop::One(hop_target(gateway, oif, ports)?)), false));
    };
    // Members out of other interfaces, dead ones and IPv4 gateways are left out; the route
    // goes through the rest, or is skipped (for the first member's reason) if none is left.
    let mut first_err = None;
    let mut usable: Vec<GroupMember> = Vec::new();
    for m in members {
        if m.flags.intersects(RouteNextHopFlags::Dead | RouteNextHopFlags::Linkdown) {
            continue;
        }
        let g = m.attributes.iter().find_map(|a| match a {
            RouteAttribute::Gateway(g) => Some(g),
            _ => None,
        });
        match hop_target(g, Some(m.interface_index), ports) {
            // rtnh_hops is the weight minus one.
            Ok(target) if !usable.iter().any(|u| u.target == target) => usable.push(GroupMember { target, weight: u16::from(m.hops) + 1 }),
            Ok(_) => {}
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    let reduced = usable.len() < members.len();
    usable.sort_by_key(|m| (m.target.to_string(), m.weight));
    let hop = match usable.len() {
        0 => return Err(first_err.unwrap_or(Skip::NoNextHop)),
        1 => KernelHop::One(usable[0].target),
        _ => KernelHop::Multi(usable),
    };
    Ok((prefix, metric, route(hop), reduced))
}

/// An IPv4 unicast route: one next hop. Outer routes have no next-hop groups (yet): of a
/// multipath route the lowest live gateway of ours is taken and the route counted as reduced.
fn translate4(
    prefix: Prefix,
    metric: u32,
    route: impl Fn(KernelHop) -> KernelRoute,
    gateway: Option<&RouteAddress>,
    oif: Option<u32>,
    members: Option<&Vec<netlink_packet_route::route::RouteNextHop>>,
    ports: &[(u32, u16)],
) -> Result<(Prefix, u32, KernelRoute, bool), Skip> {
    let Some(members) = members else {
        return Ok((prefix, metric, route(KernelHop::Outer(hop4_target(gateway, oif, ports)?)), false));
    };
    let mut first_err = None;
    let mut usable: Vec<Route4Target> = Vec::new();
    for m in members.iter().filter(|m| !m.flags.intersects(RouteNextHopFlags::Dead | RouteNextHopFlags::Linkdown)) {
        let g = m.attributes.iter().find_map(|a| match a {
            RouteAttribute::Gateway(g) => Some(g),
            _ => None,
        });
        match hop4_target(g, Some(m.interface_index), ports) {
            Ok(t) => usable.push(t),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    usable.sort();
    match usable.first() {
        Some(&t) => Ok((prefix, metric, route(KernelHop::Outer(t)), members.len() > 1)),
        None => Err(first_err.unwrap_or(Skip::NoNextHop)),
    }
}

/// `kernel/<protocol>`: who put the route in the kernel.
pub fn origin_name(p: RouteProtocol) -> String {
    let name = match p {
        RouteProtocol::Other(n) => return format!("kernel/proto-{n}"),
        RouteProtocol::Unspec => "unspec",
        RouteProtocol::IcmpRedirect => "redirect",
        RouteProtocol::Kernel => "kernel",
        RouteProtocol::Boot => "boot",
        RouteProtocol::Static => "static",
        RouteProtocol::Ra => "ra",
        RouteProtocol::Zebra => "zebra",
        RouteProtocol::Bird => "bird",
        RouteProtocol::Dhcp => "dhcp",
        RouteProtocol::Bgp => "bgp",
        RouteProtocol::Isis => "isis",
        RouteProtocol::Ospf => "ospf",
        RouteProtocol::Rip => "rip",
        RouteProtocol::Babel => "babel",
        RouteProtocol::Eigrp => "eigrp",
        other => return format!("kernel/proto-{}", u8::from(other)),
    };
    format!("kernel/{name}")
}

impl FibMirror {
    /// Opens the sockets (listening before the first dump, so no change falls between) and
    /// loads the table. `ports`: interface index → port of each control TAP.
    pub fn open(table: u32, ports: Vec<(u32, u16)>, control: &mut ControlPlane) -> Result<FibMirror, NetlinkError> {
        let events = RouteEvents::open()?;
        let rtnl = Rtnl::open()?;
        let mut m = FibMirror {
            table,
            ports,
            rtnl,
            events,
            kernel: HashMap::new(),
            installed: HashMap::new(),
            groups: HashMap::new(),
            counters: FibCounters::default(),
            logged: BTreeSet::new(),
            resync_due: false,
        };
        m.resync(control)?;
        Ok(m)
    }

    pub fn counters(&self) -> &FibCounters {
        &self.counters
    }

    pub fn installed(&self) -> usize {
        self.installed.len()
    }

    /// `kernel/bird` for a route the mirror installed; None for static ones.
    pub fn origin(&self, prefix: Prefix) -> Option<String> {
        self.installed.get(&prefix).map(|r| origin_name(r.protocol))
    }

    /// Reads and applies what the kernel announced; true if anything came.
    pub fn poll(&mut self, control: &mut ControlPlane) -> bool {
        if self.resync_due {
            if let Err(e) = self.resync(control) {
                println!("relayd: fib: resync failed: {e}");
            }
            return true;
        }
        match self.events.poll(READS_PER_POLL) {
            Ok(Events::Changes { changes, undecodable }) => {
                self.counters.undecodable += undecodable;
                if changes.is_empty() {
                    return undecodable > 0;
                }
                let touched = self.learn(changes);
                self.sync(control, touched);
                true
            }
            Ok(Events::Overrun) => {
                self.counters.overruns += 1;
                println!("relayd: fib: the kernel dropped route notifications (ENOBUFS): resyncing table {}", self.table);
                if let Err(e) = self.resync(control) {
                    println!("relayd: fib: resync failed: {e}");
                }
                true
            }
            Err(e) => {
                println!("relayd: fib: {e}");
                false
            }
        }
    }

    /// Replaces what is known of the kernel table by a full dump, then installs and removes
    /// the difference.
    pub fn resync(&mut self, control: &mut ControlPlane) -> Result<(), NetlinkError> {
        self.counters.resyncs += 1;
        self.events.discard();
        let (mut dump, consistent6) = self.rtnl.dump_routes(AddressFamily::Inet6)?;
        let (dump4, consistent4) = self.rtnl.dump_routes(AddressFamily::Inet)?;
        dump.extend(dump4);
        // Still changing under every dump: take this one, and dump again next turn.
        self.resync_due = !(consistent6 && consistent4);
        if self.resync_due {
            self.counters.dumps_interrupted += 1;
        }
        let mut touched: BTreeSet<Prefix> = self.kernel.keys().copied().collect();
        touched.extend(self.installed.keys().copied());
        self.kernel.clear();
        touched.extend(self.learn(dump.into_iter().map(RouteEvent::New).collect()));
        self.sync(control, touched);
        Ok(())
    }

    /// After a reload rebuilt the tables from the configuration: the kernel's routes again
    /// (those the new configuration does not hold statically).
    pub fn reinstall(&mut self, control: &mut ControlPlane) {
        // The new tables hold none of the kernel's routes and groups.
        self.installed.clear();
        self.groups.clear();
        let touched = self.kernel.keys().copied().collect();
        self.sync(control, touched);
    }

    /// `relayctl` changed `prefixes` (static now, or gone): forget them as ours, and put the
    /// kernel's route back where the static one was deleted.
    pub fn static_changed(&mut self, control: &mut ControlPlane, prefixes: &[Prefix]) {
        for p in prefixes {
            let old = self.installed.remove(p);
            self.release_group(old);
        }
        self.sync(control, prefixes.iter().copied().collect());
    }

    /// Folds kernel changes into `kernel`; returns the prefixes they touched.
    fn learn(&mut self, changes: Vec<RouteEvent>) -> BTreeSet<Prefix> {
        let mut touched = BTreeSet::new();
        for change in changes {
            let (msg, new) = match &change {
                RouteEvent::New(m) => (m, true),
                RouteEvent::Del(m) => (m, false),
            };
            match translate(msg, self.table, &self.ports) {
                Ok((prefix, metric, route, reduced)) => {
                    touched.insert(prefix);
                    let at = self.kernel.entry(prefix).or_default();
                    if new {
                        if let KernelHop::Multi(_) = route.hop {
                            self.counters.multipath += 1;
                        }
                        if reduced {
                            self.counters.multipath_reduced += 1;
                        }
                        at.insert(metric, route);
                    } else {
                        at.remove(metric);
                    }
                    if at.is_empty() {
                        self.kernel.remove(&prefix);
                    }
                }
                Err(skip) => {
                    self.count_skip(skip);
                    // A route we held, replaced in the kernel by one we do not take, is gone.
                    if skip != Skip::OtherTable && table_of(msg) == self.table {
                        if let Some(prefix) = prefix_of(msg) {
                            if let Some(at) = self.kernel.get_mut(&prefix) {
                                at.remove(metric_of(msg));
                                if at.is_empty() {
                                    self.kernel.remove(&prefix);
                                }
                                touched.insert(prefix);
                            }
                        }
                    }
                }
            }
        }
        touched
    }

    fn count_skip(&mut self, s: Skip) {
        let c = &mut self.counters;
        match s {
            Skip::OtherTable => c.skipped_other_table += 1,
            Skip::Type => c.skipped_type += 1,
            Skip::ForeignInterface => c.skipped_foreign_interface += 1,
            Skip::NoNextHop => c.skipped_no_next_hop += 1,
            Skip::GatewayFamily => c.skipped_gateway_family += 1,
        }
    }

    /// Brings relayd's tables to the kernel's for `touched`, in three steps, each one batch:
    /// the next-hop groups the new routes need; the routes (if the tables refuse the batch,
    /// change by change, so one bad route costs only itself, counted and logged); the groups
    /// no route uses any more. Each step is hitless on its own: a group exists before its
    /// first route and goes after its last.
    fn sync(&mut self, control: &mut ControlPlane, touched: BTreeSet<Prefix>) {
        let mut changes: Vec<(Prefix, Option<KernelRoute>)> = Vec::new();
        for prefix in touched {
            let want = self.kernel.get(&prefix).and_then(|m| m.best().cloned());
            let have = self.installed.get(&prefix);
            match (want, have) {
                (Some(w), Some(h)) if w == *h => {}
                (Some(w), have) => {
                    if have.is_none() && holds_static(control.tables(), prefix) {
                        self.counters.shadowed += 1;
                        continue;
                    }
                    changes.push((prefix, Some(w)));
                }
                (None, Some(_)) => changes.push((prefix, None)),
                (None, None) => {}
            }
        }
        self.create_groups(control, &changes);
        let mut updates = Vec::with_capacity(changes.len());
        let mut next = Vec::with_capacity(changes.len());
        for (prefix, route) in changes {
            let Some(update) = self.update_for(prefix, route.as_ref()) else {
                // Its group was refused (logged there).
                self.counters.refused += 1;
                continue;
            };
            updates.push(update);
            next.push((prefix, route));
        }
        if !updates.is_empty() {
            match control.apply(updates.clone()) {
                Ok(_) => {
                    self.counters.batches += 1;
                    for (prefix, route) in next {
                        self.record(prefix, route);
                    }
                }
                Err(_) => {
                    for (u, (prefix, route)) in updates.into_iter().zip(next) {
                        match control.apply(vec![u.clone()]) {
                            Ok(_) => {
                                self.counters.batches += 1;
                                self.record(prefix, route);
                            }
                            Err(e) => {
                                self.counters.refused += 1;
                                if self.logged.insert(prefix) {
                                    println!("relayd: fib: kernel route not mirrored: {u}: {e}");
                                }
                            }
                        }
                    }
                }
            }
        }
        self.remove_unused_groups(control);
    }

    /// The change that installs `route` for `prefix` (removes it for None); None if the
    /// group of a multipath route could not be made.
    fn update_for(&self, prefix: Prefix, route: Option<&KernelRoute>) -> Option<TableUpdate> {
        let len = prefix.1;
        Some(match (prefix.0, route.map(|r| &r.hop)) {
            (IpAddr::V6(prefix), None) => TableUpdate::RouteDel { prefix, len },
            (IpAddr::V4(prefix), None) => TableUpdate::Route4Del { prefix, len },
            (IpAddr::V6(prefix), Some(KernelHop::One(target))) => TableUpdate::RouteAdd { prefix, len, target: *target },
            (IpAddr::V6(prefix), Some(KernelHop::Multi(m))) => {
                let &(group, _) = self.groups.get(m)?;
                TableUpdate::RouteAdd { prefix, len, target: RouteTarget::Group { group } }
            }
            (IpAddr::V4(prefix), Some(KernelHop::Outer(target))) => TableUpdate::Route4Add { prefix, len, target: *target },
            // translate() gives IPv4 prefixes outer hops only, IPv6 ones never.
            (IpAddr::V4(_), Some(_)) | (IpAddr::V6(_), Some(KernelHop::Outer(_))) => return None,
        })
    }

    /// Creates the groups `changes` need that do not exist yet, in one batch (one by one if
    /// the tables refuse it).
    fn create_groups(&mut self, control: &mut ControlPlane, changes: &[(Prefix, Option<KernelRoute>)]) {
        let mut used: BTreeSet<u16> = self.groups.values().map(|&(id, _)| id).collect();
        let mut created: Vec<(Vec<GroupMember>, u16, TableUpdate)> = Vec::new();
        for (_, route) in changes {
            let Some(KernelRoute { hop: KernelHop::Multi(members), .. }) = route else { continue };
            if self.groups.contains_key(members) || created.iter().any(|(m, _, _)| m == members) {
                continue;
            }
            let group = match NextHopGroup::new(members.clone()) {
                Ok(g) => g,
                Err(e) => {
                    println!("relayd: fib: multipath route not mirrored: {e}");
                    continue;
                }
            };
            let Some(id) = KERNEL_GROUPS.into_iter().find(|id| !used.contains(id)) else {
                println!("relayd: fib: multipath route not mirrored: every kernel group id is taken");
                break;
            };
            used.insert(id);
            created.push((members.clone(), id, TableUpdate::GroupSet { id, group }));
        }
        if created.is_empty() {
            return;
        }
        let batch: Vec<TableUpdate> = created.iter().map(|(_, _, u)| u.clone()).collect();
        let all_ok = control.apply(batch).is_ok();
        for (members, id, u) in created {
            let ok = all_ok || match control.apply(vec![u.clone()]) {
                Ok(_) => true,
                Err(e) => {
                    println!("relayd: fib: next-hop group not created: {u}: {e}");
                    false
                }
            };
            if ok {
                self.counters.groups_added += 1;
                self.groups.insert(members, (id, 0));
            }
        }
    }

    /// Removes the groups whose last route went.
    fn remove_unused_groups(&mut self, control: &mut ControlPlane) {
        let unused: Vec<(Vec<GroupMember>, u16)> =
            self.groups.iter().filter(|(_, &(_, routes))| routes == 0).map(|(m, &(id, _))| (m.clone(), id)).collect();
        if unused.is_empty() {
            return;
        }
        let batch = unused.iter().map(|&(_, id)| TableUpdate::GroupDel { id }).collect();
        let all_ok = control.apply(batch).is_ok();
        for (members, id) in unused {
            // Left for the next sync if refused (it cannot be in use: only we route to it).
            if all_ok || control.apply(vec![TableUpdate::GroupDel { id }]).is_ok() {
                self.counters.groups_removed += 1;
                self.groups.remove(&members);
            }
        }
    }

    fn record(&mut self, prefix: Prefix, route: Option<KernelRoute>) {
        self.logged.remove(&prefix);
        if let Some(KernelHop::Multi(m)) = route.as_ref().map(|r| &r.hop) {
            if let Some((_, routes)) = self.groups.get_mut(m) {
                *routes += 1;
            }
        }
        let old = match route {
            Some(r) => {
                self.counters.added += 1;
                self.installed.insert(prefix, r)
            }
            None => {
                self.counters.removed += 1;
                self.installed.remove(&prefix)
            }
        };
        self.release_group(old);
    }

    /// One route less on the group of `old`, if it had one.
    fn release_group(&mut self, old: Option<KernelRoute>) {
        if let Some(KernelRoute { hop: KernelHop::Multi(m), .. }) = old {
            if let Some((_, routes)) = self.groups.get_mut(&m) {
                *routes = routes.saturating_sub(1);
            }
        }
    }
}

/// Whether relayd holds `prefix` from its configuration or relayctl (the mirror's own routes
/// are in `installed`).
fn holds_static(tables: &Tables, prefix: Prefix) -> bool {
    match prefix.0 {
        IpAddr::V6(p) => tables.route(p, prefix.1).is_some(),
        IpAddr::V4(p) => tables.route4(p, prefix.1).is_some(),
    }
}

/// `routes`: every route of `tables` with its origin (`static`, or `kernel/<protocol>`), the
/// IPv4 (outer) routes after the IPv6 ones.
pub fn routes_with_origin(tables: &Tables, mirror: Option<&FibMirror>) -> String {
    let mut out = String::new();
    let origin = |p: IpAddr, l: u8| mirror.and_then(|m| m.origin((p, l))).unwrap_or_else(|| "static".to_owned());
    for (p, l, t) in tables.routes() {
        out.push_str(&format!("{p}/{l} {t} origin {}\n", origin(p.into(), l)));
    }
    for (p, l, t) in tables.routes4() {
        out.push_str(&format!("{p}/{l} {t} origin {}\n", origin(p.into(), l)));
    }
    out
}

#[cfg(test)]
mod tests;
