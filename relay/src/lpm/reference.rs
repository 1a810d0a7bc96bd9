//! The obviously-correct LPM that [`super::Lpm6`] is tested and benchmarked against: one
//! ordered map of masked prefixes, looked up by trying every length from 128 down to 0.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use super::{Lpm6, LpmError};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReferenceLpm6 {
    routes: BTreeMap<(u128, u8), u32>,
}

fn mask(prefix: Ipv6Addr, len: u8) -> Result<u128, LpmError> {
    match len {
        0 => Ok(0),
        1..=128 => Ok(u128::from(prefix) & (u128::MAX << (128 - u32::from(len)))),
        _ => Err(LpmError::InvalidLength(len)),
    }
}

impl ReferenceLpm6 {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(
        &mut self,
        prefix: Ipv6Addr,
        len: u8,
        next_hop: u32,
    ) -> Result<Option<u32>, LpmError> {
        let key = mask(prefix, len)?;
        if next_hop > Lpm6::MAX_NEXT_HOP {
            return Err(LpmError::InvalidNextHop(next_hop));
        }
        Ok(self.routes.insert((key, len), next_hop))
    }

    pub fn remove(&mut self, prefix: Ipv6Addr, len: u8) -> Result<Option<u32>, LpmError> {
        let key = mask(prefix, len)?;
        Ok(self.routes.remove(&(key, len)))
    }

    pub fn get(&self, prefix: Ipv6Addr, len: u8) -> Option<u32> {
        self.routes.get(&(mask(prefix, len).ok()?, len)).copied()
    }

    pub fn lookup(&self, addr: &[u8; 16]) -> u32 {
        let addr = Ipv6Addr::from(*addr);
        (0..=128u8)
            .rev()
            .find_map(|len| self.get(addr, len))
            .unwrap_or(Lpm6::MISS)
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Sorted by prefix then length, like [`Lpm6::routes`].
    pub fn routes(&self) -> Vec<(Ipv6Addr, u8, u32)> {
        self.routes
            .iter()
            .map(|(&(key, len), &hop)| (Ipv6Addr::from(key), len, hop))
            .collect()
    }
}
