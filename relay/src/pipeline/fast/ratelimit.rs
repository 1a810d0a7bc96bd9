//! Token bucket for ICMP errors (RFC 4443 section 2.4(f)), one per worker, integer-only.

/// Tokens are measured in clock ticks: each error costs `hz / rate` ticks of credit,
/// credit grows by one per tick elapsed, up to `burst` errors' worth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenBucket {
    cost: u64,
    cap: u64,
    credit: u64,
    last: u64,
}

impl TokenBucket {
    /// `rate` errors per second (0: never), `burst` at once, on a clock of `hz` ticks per
    /// second. Starts full.
    pub fn new(rate: u32, burst: u32, hz: u64) -> TokenBucket {
        if rate == 0 {
            return TokenBucket { cost: 1, cap: 0, credit: 0, last: 0 };
        }
        let cost = (hz / u64::from(rate)).max(1);
        let cap = cost.saturating_mul(u64::from(burst.max(1)));
        TokenBucket { cost, cap, credit: cap, last: 0 }
    }

    /// Takes one token at time `now` if there is one. A clock going backwards adds nothing.
    #[inline]
    pub fn take(&mut self, now: u64) -> bool {
        let elapsed = now.saturating_sub(self.last);
        self.last = self.last.max(now);
        self.credit = self.credit.saturating_add(elapsed).min(self.cap);
        if self.credit >= self.cost && self.cap > 0 {
            self.credit -= self.cost;
            true
        } else {
            false
        }
    }
}
