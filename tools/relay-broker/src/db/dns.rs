//! The DNS records the broker owns: listed before they are sent, unlisted once deleted, so a
//! record in this table may be in DNS and is the broker's; no other record is.

use sqlx::Row;

use super::{Db, DbError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RType {
    Aaaa,
    Ptr,
}

impl RType {
    pub fn as_str(self) -> &'static str {
        match self {
            RType::Aaaa => "AAAA",
            RType::Ptr => "PTR",
        }
    }
    fn parse(s: &str) -> Result<RType, DbError> {
        match s {
            "AAAA" => Ok(RType::Aaaa),
            "PTR" => Ok(RType::Ptr),
            o => Err(DbError::Malformed(format!("dns record type `{o}`"))),
        }
    }
}

/// One resource record, as text: `name` and a PTR's `data` fully qualified and lower case, an
/// AAAA's `data` the address as `Ipv6Addr` prints it; `zone` is where the update goes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DnsRecord {
    pub zone: String,
    pub name: String,
    pub rtype: RType,
    pub data: String,
}

impl std::fmt::Display for DnsRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.name, self.rtype.as_str(), self.data)
    }
}

impl Db {
    /// Lists `records` as the broker's (those already listed stay as they are).
    pub async fn dns_own(&self, records: &[DnsRecord]) -> Result<(), DbError> {
        let sql = "INSERT INTO dns_records (zone, name, rtype, data) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
        self.each_record(sql, records).await
    }

    /// Unlists `records` (deleted from DNS).
    pub async fn dns_disown(&self, records: &[DnsRecord]) -> Result<(), DbError> {
        let sql = "DELETE FROM dns_records WHERE zone = $1 AND name = $2 AND rtype = $3 AND data = $4";
        self.each_record(sql, records).await
    }

    /// Runs `sql` ($1 zone, $2 name, $3 type, $4 data) for each record, in one transaction.
    async fn each_record(&self, sql: &str, records: &[DnsRecord]) -> Result<(), DbError> {
        let mut tx = self.pool.begin().await?;
        for r in records {
            sqlx::query(sql).bind(&r.zone).bind(&r.name).bind(r.rtype.as_str()).bind(&r.data).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every record the broker owns, in order.
    pub async fn dns_owned(&self) -> Result<Vec<DnsRecord>, DbError> {
        let rows = sqlx::query("SELECT zone, name, rtype, data FROM dns_records ORDER BY name, rtype, data").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let rtype: String = r.try_get("rtype")?;
                Ok(DnsRecord { zone: r.try_get("zone")?, name: r.try_get("name")?, rtype: RType::parse(&rtype)?, data: r.try_get("data")? })
            })
            .collect()
    }
}
