//! One TCP connection to the primary server: RFC 2136 updates signed with TSIG (RFC 8945), and
//! plain queries to see what the zone holds. hickory signs and verifies; this module names
//! refusals the way `dig` and the server's log do (REFUSED, NOTAUTH, TSIG BADSIG/BADKEY …).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_client::client::{Client, ClientHandle};
use hickory_client::proto::dnssec::rdata::tsig::TSIG;
use hickory_client::proto::dnssec::rdata::DNSSECRData;
use hickory_client::proto::dnssec::tsig::TSigner;
use hickory_client::proto::op::{Message, MessageFinalizer, MessageType, MessageVerifier, OpCode, Query, ResponseCode, UpdateMessage};
use hickory_client::proto::rr::rdata::{AAAA, PTR};
use hickory_client::proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_client::proto::runtime::TokioRuntimeProvider;
use hickory_client::proto::serialize::binary::{BinEncodable, BinEncoder};
use hickory_client::proto::tcp::TcpClientStream;
use hickory_client::proto::xfer::{DnsHandle, DnsRequest, DnsRequestOptions, DnsResponse, FirstAnswer};
use hickory_client::proto::ProtoError;

use super::settings::DnsConfig;
use super::DnsError;
use crate::db::{DnsRecord, RType};

/// How long a connection or an answer may take before the server counts as down.
const TIMEOUT: Duration = Duration::from_secs(10);
/// TSIG fudge: the clock difference the server may allow (RFC 8945 §10 recommends 300 s).
const FUDGE: u16 = 300;

/// RFC 1035 / 2136 / 8945 mnemonics, as `dig` prints them.
pub fn rcode_name(code: u16) -> String {
    let known = match code {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADSIG",
        17 => "BADKEY",
        18 => "BADTIME",
        22 => "BADTRUNC",
        _ => return format!("RCODE{code}"),
    };
    known.into()
}

/// The TSIG error field of a TSIG record (hickory 0.25 keeps it private, so it is read back
/// from the record's own wire form: algorithm name, time 6, fudge 2, MAC size 2, MAC, id 2, error 2).
fn tsig_error(tsig: &TSIG) -> Option<u16> {
    let mut alg = Vec::new();
    tsig.algorithm().emit(&mut BinEncoder::new(&mut alg)).ok()?;
    let mut wire = Vec::new();
    tsig.emit(&mut BinEncoder::new(&mut wire)).ok()?;
    let at = alg.len() + 6 + 2 + 2 + tsig.mac().len() + 2;
    let b = wire.get(at..at + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// `REFUSED`, or `NOTAUTH (TSIG BADSIG)` when the server's TSIG names the cause.
fn refusal(resp: &Message) -> String {
    let rcode = rcode_name(u16::from(resp.response_code()));
    let tsig = resp.signature().iter().find_map(|r| match r.data() {
        RData::DNSSEC(DNSSECRData::TSIG(t)) => tsig_error(t).filter(|e| *e != 0),
        _ => None,
    });
    match tsig {
        Some(e) => format!("{rcode} (TSIG {})", rcode_name(e)),
        None => rcode,
    }
}

/// hickory's TSIG signer, except that an error answer is passed on unverified: a server that
/// rejects the key (BADKEY, BADSIG, RFC 8945 §5.3.2) answers unsigned, and hickory's verifier
/// would turn that into a MAC-length complaint. Only a NOERROR answer counts as success, and
/// that one must verify, so accepting unsigned errors can only make an update fail.
struct Signer(TSigner);

impl MessageFinalizer for Signer {
    fn finalize_message(&self, message: &Message, now: u32) -> Result<(Vec<Record>, Option<MessageVerifier>), ProtoError> {
        let (records, verifier) = self.0.finalize_message(message, now)?;
        let Some(mut verify) = verifier else { return Ok((records, None)) };
        let wrapped: MessageVerifier = Box::new(move |wire: &[u8]| {
            let resp = DnsResponse::from_buffer(wire.to_vec())?;
            if resp.response_code() != ResponseCode::NoError {
                return Ok(resp);
            }
            verify(wire)
        });
        Ok((records, Some(wrapped)))
    }
}

pub struct Conn {
    client: Client,
    server: SocketAddr,
}

fn name(text: &str) -> Result<Name, DnsError> {
    Name::from_ascii(text).map_err(|e| DnsError::Malformed(format!("name `{text}`: {e}")))
}

/// The record as hickory's, class IN.
fn record(r: &DnsRecord, ttl: u32) -> Result<Record, DnsError> {
    let data = match r.rtype {
        RType::Aaaa => RData::AAAA(AAAA(r.data.parse().map_err(|_| DnsError::Malformed(format!("AAAA data `{}`", r.data)))?)),
        RType::Ptr => RData::PTR(PTR(name(&r.data)?)),
    };
    Ok(Record::from_rdata(name(&r.name)?, ttl, data))
}

impl Conn {
    pub async fn open(cfg: &DnsConfig) -> Result<Conn, DnsError> {
        let server = cfg.server;
        let signer = TSigner::new(cfg.secret.0.clone(), cfg.algorithm.clone(), cfg.key_name.clone(), FUDGE)
            .map_err(|e| DnsError::Tsig(e.to_string()))?;
        let (stream, handle) = TcpClientStream::new(server, None, Some(TIMEOUT), TokioRuntimeProvider::new());
        let signer: Arc<dyn MessageFinalizer> = Arc::new(Signer(signer));
        let (client, bg) = Client::with_timeout(stream, handle, TIMEOUT, Some(signer))
            .await
            .map_err(|source| DnsError::Server { server, reason: source.to_string() })?;
        // The background task carries the connection; it ends when `client` is dropped.
        tokio::spawn(bg);
        Ok(Conn { client, server })
    }

    /// One update of `zone` (applied by the server as a whole or not at all, RFC 2136 §3.7):
    /// `del` deleted by their data, `add` added with `ttl`.
    pub async fn update(&mut self, zone: &str, add: &[DnsRecord], del: &[DnsRecord], ttl: u32) -> Result<(), DnsError> {
        let origin = name(zone)?;
        let mut zq = Query::new();
        zq.set_name(origin.clone()).set_query_class(DNSClass::IN).set_query_type(RecordType::SOA);
        let mut m = Message::new();
        m.set_id(rand::random()).set_message_type(MessageType::Query).set_op_code(OpCode::Update).set_recursion_desired(false);
        m.add_zone(zq);
        for (r, class, ttl) in del.iter().map(|r| (r, DNSClass::NONE, 0)).chain(add.iter().map(|r| (r, DNSClass::IN, ttl))) {
            let mut rr = record(r, ttl)?;
            if !origin.zone_of(rr.name()) {
                return Err(DnsError::Malformed(format!("{} is not in zone {zone}", rr.name())));
            }
            // RFC 2136 §2.5.4: class NONE, TTL 0 deletes this one record, nothing else at the name.
            rr.set_dns_class(class);
            m.add_update(rr);
        }
        let resp = self.send(m).await?;
        if resp.response_code() != ResponseCode::NoError {
            return Err(DnsError::Refused { server: self.server, zone: zone.into(), reason: refusal(&resp) });
        }
        Ok(())
    }

    /// The data of `name`'s `rtype` records, as `DnsRecord::data` writes it.
    pub async fn lookup(&mut self, owner: &str, rtype: RType) -> Result<BTreeSet<String>, DnsError> {
        let t = match rtype {
            RType::Aaaa => RecordType::AAAA,
            RType::Ptr => RecordType::PTR,
        };
        let resp = self
            .client
            .query(name(owner)?, DNSClass::IN, t)
            .await
            .map_err(|source| DnsError::Server { server: self.server, reason: source.to_string() })?;
        match resp.response_code() {
            ResponseCode::NoError | ResponseCode::NXDomain => {}
            _ => return Err(DnsError::Query { server: self.server, name: owner.into(), reason: refusal(&resp) }),
        }
        Ok(resp
            .answers()
            .iter()
            .filter_map(|r| match r.data() {
                RData::AAAA(a) if rtype == RType::Aaaa => Some(a.0.to_string()),
                RData::PTR(p) if rtype == RType::Ptr => Some(p.0.to_lowercase().to_ascii()),
                _ => None,
            })
            .collect())
    }

    async fn send(&mut self, m: Message) -> Result<DnsResponse, DnsError> {
        let req = DnsRequest::new(m, DnsRequestOptions::default());
        self.client.send(req).first_answer().await.map_err(|source| DnsError::Server { server: self.server, reason: source.to_string() })
    }
}
