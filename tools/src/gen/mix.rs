//! What to send: the traffic kinds and their percentages (`--mix`), frame sizes (`--size`,
//! `--imix`), and the deterministic interleaving of both.
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// The four traffic classes of a 6to4 relay test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Native IPv6 to a 6to4 destination `2002:V::/48`: the relay encapsulates.
    Encap,
    /// IPv4 protocol 41 from a 6to4 site to native IPv6: the relay decapsulates.
    Decap,
    /// Native IPv6 to native IPv6 (2001:db8::/32 both sides): plain forwarding.
    Transit,
    /// Martians and spoofs that RFC 3964 says to drop (see `build`).
    Invalid,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Encap, Kind::Decap, Kind::Transit, Kind::Invalid];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Encap => "encap",
            Kind::Decap => "decap",
            Kind::Transit => "transit",
            Kind::Invalid => "invalid",
        }
    }

    /// The code carried in the timestamp payload.
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<Kind> {
        Kind::ALL.get(code as usize).copied()
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// A correct relay forwards it (true) or drops it (false, the invalid kind).
    pub fn forwarded(self) -> bool {
        self != Kind::Invalid
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Percentages per kind, summing to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Mix {
    pub encap: u32,
    pub decap: u32,
    pub transit: u32,
    pub invalid: u32,
}

impl Default for Mix {
    fn default() -> Mix {
        Mix { encap: 70, decap: 20, transit: 5, invalid: 5 }
    }
}

impl Mix {
    pub fn weight(&self, kind: Kind) -> u32 {
        match kind {
            Kind::Encap => self.encap,
            Kind::Decap => self.decap,
            Kind::Transit => self.transit,
            Kind::Invalid => self.invalid,
        }
    }

    fn weight_mut(&mut self, kind: Kind) -> &mut u32 {
        match kind {
            Kind::Encap => &mut self.encap,
            Kind::Decap => &mut self.decap,
            Kind::Transit => &mut self.transit,
            Kind::Invalid => &mut self.invalid,
        }
    }

    /// The kinds with a non-zero share among `allowed`, with their weights.
    pub fn restricted(&self, allowed: &[Kind]) -> Vec<(Kind, u32)> {
        Kind::ALL
            .into_iter()
            .filter(|k| allowed.contains(k) && self.weight(*k) > 0)
            .map(|k| (k, self.weight(k)))
            .collect()
    }
}

impl FromStr for Mix {
    type Err = String;

    /// `encap=70,decap=20,transit=5,invalid=5`; kinds left out get 0; the sum must be 100.
    fn from_str(s: &str) -> Result<Mix, String> {
        let mut mix = Mix { encap: 0, decap: 0, transit: 0, invalid: 0 };
        let mut seen = Vec::new();
        for item in s.split(',').map(str::trim) {
            let (name, pct) = item
                .split_once('=')
                .ok_or_else(|| format!("{item:?} is not KIND=PERCENT (kinds: encap, decap, transit, invalid)"))?;
            let kind = Kind::from_name(name.trim())
                .ok_or_else(|| format!("unknown kind {name:?} (kinds: encap, decap, transit, invalid)"))?;
            if seen.contains(&kind) {
                return Err(format!("{kind} is given twice"));
            }
            seen.push(kind);
            let pct: u32 = pct
                .trim()
                .parse()
                .ok()
                .filter(|p| *p <= 100)
                .ok_or_else(|| format!("{kind}: {pct:?} is not a percentage 0..=100"))?;
            *mix.weight_mut(kind) = pct;
        }
        let total: u32 = Kind::ALL.iter().map(|k| mix.weight(*k)).sum();
        if total != 100 {
            return Err(format!("the percentages add up to {total}, not 100"));
        }
        Ok(mix)
    }
}

/// Smooth weighted round-robin (the nginx upstream algorithm): every cycle of `Σ weights`
/// picks yield each item exactly `weight` times, spread as evenly as possible, with no
/// randomness: runs are reproducible and a short run already has the right proportions.
#[derive(Debug, Clone)]
pub struct Wrr<T: Copy> {
    items: Vec<(T, i64, i64)>,
    total: i64,
}

impl<T: Copy> Wrr<T> {
    /// `None` when there is no item with a non-zero weight.
    pub fn new(weighted: &[(T, u32)]) -> Option<Wrr<T>> {
        let items: Vec<(T, i64, i64)> =
            weighted.iter().filter(|(_, w)| *w > 0).map(|&(t, w)| (t, i64::from(w), 0)).collect();
        let total = items.iter().map(|i| i.1).sum();
        (!items.is_empty()).then_some(Wrr { items, total })
    }

    pub fn pick(&mut self) -> T {
        let mut best = 0;
        let mut best_current = i64::MIN;
        for (i, item) in self.items.iter_mut().enumerate() {
            item.2 += item.1;
            // Strictly greater: the first item wins ties.
            if item.2 > best_current {
                best = i;
                best_current = item.2;
            }
        }
        let chosen = &mut self.items[best];
        chosen.2 -= self.total;
        chosen.0
    }

    /// Picks per cycle.
    pub fn cycle_len(&self) -> u64 {
        self.total as u64
    }
}

/// The Simple IMIX of FD.io CSIT's methodology: 7 : 4 : 1 frames of 64, 570 and 1518 bytes
/// (CSIT writes it as 28×64B, 16×570B, 4×1518B). Average 353.83 bytes per frame.
pub const IMIX: [(u16, u32); 3] = [(64, 7), (570, 4), (1518, 1)];

pub const MIN_FRAME: u16 = 64;
pub const MAX_FRAME: u16 = 1518;

/// Frame sizes on the wire, FCS included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sizes {
    Fixed(u16),
    Imix,
}

impl Sizes {
    pub fn parse_fixed(s: &str) -> Result<Sizes, String> {
        let n: u16 = s.trim().parse().map_err(|_| format!("{s:?} is not a frame size in bytes"))?;
        if !(MIN_FRAME..=MAX_FRAME).contains(&n) {
            return Err(format!("{n} is outside {MIN_FRAME}..={MAX_FRAME} (frame bytes with FCS)"));
        }
        Ok(Sizes::Fixed(n))
    }

    /// The size sequence: one size, or the IMIX interleaved.
    pub fn schedule(self) -> Wrr<u16> {
        let table: Vec<(u16, u32)> = match self {
            Sizes::Fixed(n) => vec![(n, 1)],
            Sizes::Imix => IMIX.to_vec(),
        };
        // Both tables have non-zero weights.
        Wrr::new(&table).unwrap_or(Wrr { items: vec![(MIN_FRAME, 1, 0)], total: 1 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mixes() {
        assert_eq!("encap=70,decap=20,transit=5,invalid=5".parse::<Mix>(), Ok(Mix::default()));
        assert_eq!(
            " encap = 100 ".parse::<Mix>(),
            Ok(Mix { encap: 100, decap: 0, transit: 0, invalid: 0 })
        );
        assert_eq!("transit=50,decap=50".parse::<Mix>().map(|m| (m.transit, m.decap, m.encap)), Ok((50, 50, 0)));
    }

    #[test]
    fn rejects_bad_mixes_with_a_reason() {
        assert_eq!("encap=70".parse::<Mix>(), Err("the percentages add up to 70, not 100".into()));
        assert_eq!("encap=70,encap=30".parse::<Mix>(), Err("encap is given twice".into()));
        assert!("bogus=100".parse::<Mix>().unwrap_err().contains("unknown kind \"bogus\""));
        assert!("encap".parse::<Mix>().unwrap_err().contains("not KIND=PERCENT"));
        assert!("encap=101".parse::<Mix>().unwrap_err().contains("not a percentage"));
        assert!("encap=-5,decap=105".parse::<Mix>().is_err());
        assert!("".parse::<Mix>().is_err());
    }

    #[test]
    fn wrr_gives_exact_shares_each_cycle_and_spreads_them() {
        let mut w = Wrr::new(&Mix::default().restricted(&Kind::ALL)).expect("weights");
        assert_eq!(w.cycle_len(), 100);
        let picks: Vec<Kind> = (0..100).map(|_| w.pick()).collect();
        for k in Kind::ALL {
            assert_eq!(picks.iter().filter(|p| **p == k).count() as u32, Mix::default().weight(k), "{k}");
        }
        // Spread: 70 encap among 30 others come in runs of at most 3 (70 / 30 rounded up).
        let longest = picks.split(|k| *k != Kind::Encap).map(<[Kind]>::len).max();
        assert_eq!(longest, Some(3));
        // The next cycle repeats exactly.
        let again: Vec<Kind> = (0..100).map(|_| w.pick()).collect();
        assert_eq!(picks, again);
    }

    #[test]
    fn wrr_small_cases() {
        let mut w = Wrr::new(&[('a', 2), ('b', 1)]).expect("weights");
        assert_eq!((0..6).map(|_| w.pick()).collect::<String>(), "abaaba");
        assert!(Wrr::<char>::new(&[('a', 0)]).is_none());
        assert!(Wrr::<char>::new(&[]).is_none());
    }

    #[test]
    fn restriction_keeps_nonzero_allowed_kinds() {
        let m = Mix::default();
        assert_eq!(m.restricted(&[Kind::Decap, Kind::Invalid]), vec![(Kind::Decap, 20), (Kind::Invalid, 5)]);
        let only_encap = Mix { encap: 100, decap: 0, transit: 0, invalid: 0 };
        assert_eq!(only_encap.restricted(&[Kind::Decap]), vec![]);
    }

    #[test]
    fn imix_is_7_4_1() {
        let mut s = Sizes::Imix.schedule();
        let sizes: Vec<u16> = (0..12).map(|_| s.pick()).collect();
        assert_eq!(sizes.iter().filter(|&&x| x == 64).count(), 7);
        assert_eq!(sizes.iter().filter(|&&x| x == 570).count(), 4);
        assert_eq!(sizes.iter().filter(|&&x| x == 1518).count(), 1);
        let mut f = Sizes::Fixed(128).schedule();
        assert_eq!((f.pick(), f.pick()), (128, 128));
    }

    #[test]
    fn sizes_are_checked() {
        assert_eq!(Sizes::parse_fixed("64"), Ok(Sizes::Fixed(64)));
        assert_eq!(Sizes::parse_fixed("1518"), Ok(Sizes::Fixed(1518)));
        assert!(Sizes::parse_fixed("63").unwrap_err().contains("outside 64..=1518"));
        assert!(Sizes::parse_fixed("1519").is_err());
        assert!(Sizes::parse_fixed("big").unwrap_err().contains("not a frame size"));
    }

    #[test]
    fn kind_codes_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_code(k.code()), Some(k));
            assert_eq!(Kind::from_name(k.name()), Some(k));
        }
        assert_eq!(Kind::from_code(4), None);
        assert!(!Kind::Invalid.forwarded() && Kind::Encap.forwarded());
    }
}
