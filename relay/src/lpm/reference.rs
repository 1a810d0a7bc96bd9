//! The obviously-correct LPM that [`super::Lpm`] is tested and benchmarked against: one
//! ordered map of masked prefixes, looked up by trying every length from the longest down
//! to 0.

use std::collections::BTreeMap;

use super::family::{prefix_mask, Family, V4, V6};
use super::{LpmError, MISS};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceLpm<F: Family> {
    routes: BTreeMap<(u128, u8), u32>,
    family: core::marker::PhantomData<F>,
}

pub type ReferenceLpm6 = ReferenceLpm<V6>;
pub type ReferenceLpm4 = ReferenceLpm<V4>;

impl<F: Family> Default for ReferenceLpm<F> {
    fn default() -> Self {
        Self {
            routes: BTreeMap::new(),
            family: core::marker::PhantomData,
        }
    }
}

fn mask<F: Family>(prefix: F::Prefix, len: u8) -> Result<u128, LpmError> {
    if len > F::BITS {
        return Err(LpmError::InvalidLength { len, max: F::BITS });
    }
    Ok(F::prefix_key(prefix) & prefix_mask(len))
}

impl<F: Family> ReferenceLpm<F> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(
        &mut self,
        prefix: F::Prefix,
        len: u8,
        next_hop: u32,
    ) -> Result<Option<u32>, LpmError> {
        let key = mask::<F>(prefix, len)?;
        if next_hop > super::Lpm6::MAX_NEXT_HOP {
            return Err(LpmError::InvalidNextHop(next_hop));
        }
        Ok(self.routes.insert((key, len), next_hop))
    }

    pub fn remove(&mut self, prefix: F::Prefix, len: u8) -> Result<Option<u32>, LpmError> {
        let key = mask::<F>(prefix, len)?;
        Ok(self.routes.remove(&(key, len)))
    }

    pub fn get(&self, prefix: F::Prefix, len: u8) -> Option<u32> {
        self.routes
            .get(&(mask::<F>(prefix, len).ok()?, len))
            .copied()
    }

    pub fn lookup(&self, addr: &F::Addr) -> u32 {
        let key = F::addr_key(addr);
        (0..=F::BITS)
            .rev()
            .find_map(|len| self.routes.get(&(key & prefix_mask(len), len)).copied())
            .unwrap_or(MISS)
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Sorted by prefix then length, like [`super::Lpm::routes`].
    pub fn routes(&self) -> Vec<(F::Prefix, u8, u32)> {
        self.routes
            .iter()
            .map(|(&(key, len), &hop)| (F::key_prefix(key), len, hop))
            .collect()
    }
}
