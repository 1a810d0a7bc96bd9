//! The broker's operations over storage, the tunnel servers and DNS: create (validate, allocate,
//! push as one batch, register its names; a refused or down server or DNS leaves the tunnel
//! `pending`, with why), retry of pending tunnels, delete, lease expiry, and reconcile of each
//! server and of DNS with the database.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use crate::config::{Config, Server};
use crate::db::{Db, DbError, NewTunnel, Resources, State, Tunnel, BROKER_TID_FIRST, BROKER_TID_LAST};
use crate::dns::{self, DnsError, DnsReconciled};
use crate::relayd::{self, CtlError, Traffic};

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// Bad input, naming the field.
    #[error("{field}: {reason}")]
    Field { field: &'static str, reason: String },
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("no tunnel {0}")]
    NoTunnel(i64),
    #[error("tunnel server `{0}` is not configured")]
    NoServer(String),
    /// The server could not be reached; nothing was changed.
    #[error("tunnel server `{server}`: {source}")]
    Server { server: String, source: CtlError },
    #[error("{0}")]
    Dns(#[from] DnsError),
}

pub struct Broker {
    pub cfg: Config,
    pub db: Db,
}

/// What one retry of the pending tunnels did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Retried {
    /// Now active, by broker id.
    pub active: Vec<i64>,
    /// Still pending: (broker id, why).
    pub pending: Vec<(i64, String)>,
}

/// What one reconcile pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reconciled {
    /// Broker tunnels put (back) on a server, by broker id.
    pub pushed: Vec<i64>,
    /// Owned relayd tunnel ids removed, as (server, tunnel id).
    pub removed: Vec<(String, i64)>,
    /// Servers that could not be reached.
    pub unreachable: Vec<String>,
}

fn owned(tid: i64) -> bool {
    (BROKER_TID_FIRST..=BROKER_TID_LAST).contains(&tid)
}

impl Broker {
    pub fn new(cfg: Config, db: Db) -> Broker {
        Broker { cfg, db }
    }

    fn server(&self, name: &str) -> Result<&Server, BrokerError> {
        self.cfg.servers.iter().find(|s| s.name == name).ok_or_else(|| BrokerError::NoServer(name.into()))
    }

    /// Creates a tunnel for `owner` to `client_ipv4`; returns it (active, or pending when its
    /// server refused or is down) and its update key.
    pub async fn create(&self, owner: &str, client_ipv4: Ipv4Addr, routed48: bool, now: i64) -> Result<(Tunnel, String), BrokerError> {
        if !relay::pipeline::model::addr::builtin_v4_ok(client_ipv4) {
            return Err(BrokerError::Field { field: "client_ipv4", reason: format!("{client_ipv4} is not a global unicast address") });
        }
        let res = Resources {
            servers: &self.cfg.servers,
            link: self.cfg.link_pool(),
            routed: self.cfg.routed_pool(),
            lease_secs: self.cfg.lease_secs,
        };
        let (mut t, key) = self.db.allocate(&NewTunnel { owner, client_ipv4, routed48 }, &res, now).await?;
        match self.apply(&t).await {
            Ok(()) => {
                self.db.set_state(t.id, State::Active).await?;
                t.state = State::Active;
            }
            Err(e) => {
                let why = e.to_string();
                self.db.set_pending(t.id, &why).await?;
                t.last_error = Some(why);
            }
        }
        Ok((t, key))
    }

    /// Every side effect of a tunnel, in order: on its server, then in DNS. Each is idempotent,
    /// so a tunnel left pending by any of them is simply applied again.
    async fn apply(&self, t: &Tunnel) -> Result<(), BrokerError> {
        self.push(t).await?;
        if let Some(cfg) = &self.cfg.dns {
            dns::register(cfg, &self.db, t).await?;
        }
        Ok(())
    }

    /// Each tunnel's counters from its server's `tunnel stats` (one request per server), in
    /// the order given: `Ok(None)` for a tunnel its server does not carry now (pending), `Err`
    /// naming why when its server could not answer. A tunnel pending on DNS is on its server
    /// and has counters.
    pub async fn traffic(&self, tunnels: &[Tunnel]) -> Vec<Result<Option<Traffic>, String>> {
        let mut per_server: BTreeMap<&str, Result<BTreeMap<i64, Traffic>, String>> = BTreeMap::new();
        for t in tunnels {
            if !per_server.contains_key(t.server.as_str()) {
                let stats = match self.server(&t.server) {
                    Ok(s) => relayd::tunnel_stats(&s.control).await.map_err(|source| BrokerError::Server { server: s.name.clone(), source }.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                per_server.insert(&t.server, stats);
            }
        }
        tunnels
            .iter()
            .map(|t| match per_server.get(t.server.as_str()) {
                Some(Ok(stats)) => Ok(stats.get(&t.server_tid).copied()),
                Some(Err(why)) => Err(why.clone()),
                // Every server was asked above.
                None => Ok(None),
            })
            .collect()
    }

    /// Deletes `t`'s names. Best effort: the tunnel is gone from the database either way, and
    /// records this leaves behind are the broker's stale ones, which `reconcile_dns` removes.
    async fn unregister(&self, t: &Tunnel) {
        if let Some(cfg) = &self.cfg.dns {
            let _ = dns::unregister(cfg, &self.db, t).await;
        }
    }

    async fn push(&self, t: &Tunnel) -> Result<(), BrokerError> {
        let s = self.server(&t.server)?;
        relayd::push(&s.control, s.ipv4, t).await.map_err(|source| BrokerError::Server { server: s.name.clone(), source })
    }

    /// Moves the tunnel's client endpoint to `ip` and pushes it at once (pending if the server
    /// cannot take it now; retried).
    pub async fn move_endpoint(&self, t: &Tunnel, ip: Ipv4Addr) -> Result<(), BrokerError> {
        self.db.set_client(t.id, ip).await?;
        let mut moved = t.clone();
        moved.client_ipv4 = ip;
        // The names do not depend on the IPv4 endpoint: an active tunnel's DNS is already right.
        let done = if t.state == State::Active { self.push(&moved).await } else { self.apply(&moved).await };
        match done {
            Ok(()) => self.db.set_state(t.id, State::Active).await?,
            Err(e) => self.db.set_pending(t.id, &e.to_string()).await?,
        }
        Ok(())
    }

    /// Applies every pending tunnel again (server, then DNS).
    pub async fn retry_pending(&self) -> Result<Retried, BrokerError> {
        let mut out = Retried::default();
        for t in self.db.tunnels(None).await? {
            if t.state != State::Pending {
                continue;
            }
            match self.apply(&t).await {
                Ok(()) => {
                    self.db.set_state(t.id, State::Active).await?;
                    out.active.push(t.id);
                }
                Err(e) => {
                    let why = e.to_string();
                    self.db.set_pending(t.id, &why).await?;
                    out.pending.push((t.id, why));
                }
            }
        }
        Ok(out)
    }

    /// Makes DNS hold exactly the names the database wants (nothing without `[dns]`).
    pub async fn reconcile_dns(&self) -> Result<DnsReconciled, BrokerError> {
        match &self.cfg.dns {
            Some(cfg) => Ok(dns::reconcile(cfg, &self.db).await?),
            None => Ok(DnsReconciled::default()),
        }
    }

    /// Takes the tunnel off its server, then frees it (prefixes into quarantine). A server that
    /// cannot be reached keeps the tunnel as it is (error); one that refuses (the tunnel is not
    /// there) does not.
    pub async fn delete(&self, id: i64, now: i64) -> Result<(), BrokerError> {
        let t = self.db.tunnel(id).await?.ok_or(BrokerError::NoTunnel(id))?;
        self.unpush(&t).await?;
        let until = crate::after(now, self.cfg.quarantine_secs);
        self.db.release(id, until).await?;
        self.unregister(&t).await;
        Ok(())
    }

    async fn unpush(&self, t: &Tunnel) -> Result<(), BrokerError> {
        let s = self.server(&t.server)?;
        match relayd::remove(&s.control, t).await {
            Ok(()) | Err(CtlError::Refused(_)) => Ok(()),
            Err(source) => Err(BrokerError::Server { server: s.name.clone(), source }),
        }
    }

    /// Expires the tunnels whose lease ended before `now`: off their server, prefixes into
    /// quarantine. Those whose server is unreachable stay `expired` and are tried next time.
    pub async fn expire(&self, now: i64) -> Result<Vec<i64>, BrokerError> {
        let mut done = Vec::new();
        for t in self.db.expire_due(now).await? {
            if self.unpush(&t).await.is_ok() {
                let until = crate::after(now, self.cfg.quarantine_secs);
                self.db.release(t.id, until).await?;
                self.unregister(&t).await;
                done.push(t.id);
            }
        }
        Ok(done)
    }

    /// Makes every server carry exactly the broker tunnels the database says it should:
    /// missing or different ones are pushed, owned ids (32768..=65535) the database does not
    /// want are removed with their routes. Tunnels and routes below that range are never touched.
    pub async fn reconcile(&self) -> Result<Reconciled, BrokerError> {
        let mut out = Reconciled::default();
        let all = self.db.tunnels(None).await?;
        for s in &self.cfg.servers {
            let (tunnels, routes) = match (relayd::request(&s.control, "tunnels").await, relayd::request(&s.control, "routes").await) {
                (Ok(t), Ok(r)) => (t, r),
                _ => {
                    out.unreachable.push(s.name.clone());
                    continue;
                }
            };
            // What the server has: owned tunnel id → its line; owned tunnel id → its routes.
            let mut have: BTreeMap<i64, String> = BTreeMap::new();
            for line in tunnels.lines() {
                if let Some(Ok(id)) = line.split_whitespace().next().map(str::parse::<i64>) {
                    if owned(id) {
                        have.insert(id, line.to_string());
                    }
                }
            }
            let mut have_routes: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
            for line in routes.lines() {
                let w: Vec<&str> = line.split_whitespace().collect();
                // `<prefix> tunnel <id> origin <origin>` (relayd names each route's origin).
                if let [prefix, "tunnel", id, ..] = w.as_slice() {
                    if let Ok(id) = id.parse::<i64>() {
                        if owned(id) {
                            have_routes.entry(id).or_default().insert((*prefix).to_string());
                        }
                    }
                }
            }
            let want: Vec<&Tunnel> = all.iter().filter(|t| t.server == s.name && t.state != State::Expired).collect();
            let want_ids: BTreeSet<i64> = want.iter().map(|t| t.server_tid).collect();
            for t in &want {
                let line = relayd::tunnel_line(t, s.ipv4);
                let expected = line.trim_start_matches("tunnel set ");
                let mut routes_want: BTreeSet<String> = [t.link64.clone()].into_iter().collect();
                routes_want.extend(t.routed48.clone());
                let routes_ok = have_routes.get(&t.server_tid).is_some_and(|r| r.is_superset(&routes_want));
                if have.get(&t.server_tid).map(String::as_str) != Some(expected) || !routes_ok {
                    // A pending tunnel stays pending: `retry_pending` makes it active once its
                    // DNS is in place too.
                    if self.push(t).await.is_ok() {
                        out.pushed.push(t.id);
                    }
                }
                // Routes to this tunnel that the database does not hold.
                for extra in have_routes.get(&t.server_tid).into_iter().flatten().filter(|p| !routes_want.contains(*p)) {
                    let _ = relayd::request(&s.control, &format!("route del {extra}")).await;
                }
            }
            let unwanted: BTreeSet<i64> = have.keys().chain(have_routes.keys()).copied().filter(|id| !want_ids.contains(id)).collect();
            for id in unwanted {
                let mut b = String::from("batch\n");
                for p in have_routes.get(&id).into_iter().flatten() {
                    b.push_str(&format!("route del {p}\n"));
                }
                if have.contains_key(&id) {
                    b.push_str(&format!("tunnel del {id}\n"));
                }
                b.push_str("end\n");
                if relayd::request(&s.control, &b).await.is_ok() {
                    out.removed.push((s.name.clone(), id));
                }
            }
        }
        Ok(out)
    }
}
