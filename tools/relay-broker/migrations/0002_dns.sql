-- DNS registration (RFC 3053 §3). Every record the broker puts in DNS is listed here before it
-- is sent, so reconcile can remove its own stale records and never touches anyone else's.
CREATE TABLE dns_records (
    zone TEXT NOT NULL,
    name TEXT NOT NULL,
    rtype TEXT NOT NULL CHECK (rtype IN ('AAAA', 'PTR')),
    data TEXT NOT NULL,
    PRIMARY KEY (name, rtype, data)
);

-- Why a tunnel is pending (its server or its DNS refused or was down); NULL once active.
ALTER TABLE tunnels ADD COLUMN last_error TEXT;
