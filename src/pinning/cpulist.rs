//! The kernel's CPU list format (`0-3,8,10-11`), as sysfs prints it in `online`,
//! `isolated`, `nohz_full`, `nodeN/cpulist` and `thread_siblings_list`.
use std::collections::BTreeSet;
use std::fmt;

/// Highest CPU number accepted. The kernel's NR_CPUS tops out at 8192 on x86 and arm64; a
/// larger number in a file is corruption, and refusing it keeps a bad file from making us
/// build an enormous set.
pub const MAX_CPU: usize = 65_535;

/// A set of CPU numbers, printed back in the kernel's own compact form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CpuSet(BTreeSet<usize>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpuListError {
    #[error("{item:?} in {text:?} is not a CPU number or a range a-b")]
    NotANumber { text: String, item: String },
    #[error("range {item:?} in {text:?} runs backwards")]
    Backwards { text: String, item: String },
    #[error("CPU {number} in {text:?} is beyond {MAX_CPU}")]
    TooLarge { text: String, number: String },
}

impl CpuSet {
    pub fn new() -> CpuSet {
        CpuSet::default()
    }

    /// Parses `text` (surrounding whitespace and the trailing newline ignored; empty is the
    /// empty set). Some kernels print `(null)` for a `nohz_full` mask that was never
    /// allocated: that is the empty set too.
    pub fn parse(text: &str) -> Result<CpuSet, CpuListError> {
        let t = text.trim();
        let mut set = BTreeSet::new();
        if t.is_empty() || t == "(null)" {
            return Ok(CpuSet(set));
        }
        for item in t.split(',') {
            let item = item.trim();
            let num = |s: &str| -> Result<usize, CpuListError> {
                // Digits only: `parse` would take a leading '+', which the kernel never prints.
                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(CpuListError::NotANumber { text: t.into(), item: item.into() });
                }
                match s.parse::<usize>() {
                    Ok(n) if n <= MAX_CPU => Ok(n),
                    // All digits, so the only failure left is overflow: too large as well.
                    _ => Err(CpuListError::TooLarge { text: t.into(), number: s.into() }),
                }
            };
            match item.split_once('-') {
                None => {
                    set.insert(num(item)?);
                }
                Some((a, b)) => {
                    let (a, b) = (num(a)?, num(b)?);
                    if a > b {
                        return Err(CpuListError::Backwards { text: t.into(), item: item.into() });
                    }
                    set.extend(a..=b);
                }
            }
        }
        Ok(CpuSet(set))
    }

    pub fn contains(&self, cpu: usize) -> bool {
        self.0.contains(&cpu)
    }

    pub fn insert(&mut self, cpu: usize) {
        self.0.insert(cpu);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().copied()
    }

    pub fn union(&self, other: &CpuSet) -> CpuSet {
        CpuSet(self.0.union(&other.0).copied().collect())
    }

    pub fn difference(&self, other: &CpuSet) -> CpuSet {
        CpuSet(self.0.difference(&other.0).copied().collect())
    }
}

impl FromIterator<usize> for CpuSet {
    fn from_iter<I: IntoIterator<Item = usize>>(iter: I) -> CpuSet {
        CpuSet(iter.into_iter().collect())
    }
}

/// The kernel's form: runs of three or more as `a-b`, `0-3,8,10-11`; empty prints as
/// nothing, so callers say "none" themselves where it reads better.
impl fmt::Display for CpuSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut it = self.0.iter().copied().peekable();
        while let Some(start) = it.next() {
            let mut end = start;
            while it.peek() == Some(&(end + 1)) {
                end += 1;
                it.next();
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            match end - start {
                0 => write!(f, "{start}")?,
                // The kernel prints a pair as a range too (`0-1`); so do we, to match `lscpu`.
                _ => write!(f, "{start}-{end}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[usize]) -> CpuSet {
        v.iter().copied().collect()
    }

    #[test]
    fn parses_the_kernel_forms() {
        assert_eq!(CpuSet::parse("0-3,8,10-11\n"), Ok(set(&[0, 1, 2, 3, 8, 10, 11])));
        assert_eq!(CpuSet::parse("5"), Ok(set(&[5])));
        assert_eq!(CpuSet::parse("\n"), Ok(CpuSet::new()));
        assert_eq!(CpuSet::parse("(null)\n"), Ok(CpuSet::new()));
        assert_eq!(CpuSet::parse("2-2"), Ok(set(&[2])));
    }

    #[test]
    fn refuses_bad_text_naming_the_item() {
        assert_eq!(CpuSet::parse("0-3,x"), Err(CpuListError::NotANumber { text: "0-3,x".into(), item: "x".into() }));
        assert_eq!(CpuSet::parse("0,,2"), Err(CpuListError::NotANumber { text: "0,,2".into(), item: "".into() }));
        assert_eq!(CpuSet::parse("1-"), Err(CpuListError::NotANumber { text: "1-".into(), item: "1-".into() }));
        assert_eq!(CpuSet::parse("+1"), Err(CpuListError::NotANumber { text: "+1".into(), item: "+1".into() }));
        assert_eq!(CpuSet::parse("7-3"), Err(CpuListError::Backwards { text: "7-3".into(), item: "7-3".into() }));
        assert_eq!(
            CpuSet::parse("0-4000000000"),
            Err(CpuListError::TooLarge { text: "0-4000000000".into(), number: "4000000000".into() })
        );
        assert_eq!(
            CpuSet::parse("99999999999999999999999").unwrap_err().to_string(),
            "CPU 99999999999999999999999 in \"99999999999999999999999\" is beyond 65535"
        );
        assert_eq!(
            CpuSet::parse("0-3,x").unwrap_err().to_string(),
            "\"x\" in \"0-3,x\" is not a CPU number or a range a-b"
        );
    }

    #[test]
    fn prints_like_the_kernel() {
        assert_eq!(set(&[0, 1, 2, 3, 8, 10, 11]).to_string(), "0-3,8,10-11");
        assert_eq!(set(&[0, 1]).to_string(), "0-1");
        assert_eq!(set(&[1, 3]).to_string(), "1,3");
        assert_eq!(CpuSet::new().to_string(), "");
        for text in ["0-3,8,10-11", "4", "0-1,5-7,9"] {
            assert_eq!(CpuSet::parse(text).map(|s| s.to_string()).as_deref(), Ok(text));
        }
    }
}
