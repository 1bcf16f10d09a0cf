//! What the totals-only readings ([`super::Detail::Totals`]) share.
//!
//! A file's records are counted as soon as its run ends (the consecutive
//! elements or records that name it) and added to the total; nothing of
//! the file is kept but a 64-bit hash of its path. A path that comes back
//! after another file's run (two reports given together, Java classes of
//! one file far apart, tracefiles concatenated) cannot be merged that
//! way: its lines merge with the lines counted before. Such paths are
//! noted, and the reports are read a second time: the other files are
//! counted again as before, and the runs of the noted paths are kept,
//! merged and counted once the reading ends. Two paths with one hash are
//! told apart by their text in the second reading, so the totals stay
//! exact. (Go reads the runs of such files again from where they are, one
//! file at a time: see `gocover::Counting`.)

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hash, Hasher};

#[cfg(test)]
thread_local! {
    /// Tests: every path gets one hash, as if they all collided.
    pub(crate) static ONE_HASH: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A hash of a path, the same in every reading of the process.
pub(crate) fn path_hash(path: &str) -> u64 {
    #[cfg(test)]
    if ONE_HASH.with(|one| one.get()) {
        return 7;
    }
    let mut h = std::hash::DefaultHasher::new();
    path.hash(&mut h);
    h.finish()
}

/// Keys that are hashes already: used as they are.
#[derive(Debug, Default)]
pub(crate) struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ b as u64;
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A set of path hashes: 8 bytes a path, and the table's spare room.
pub(crate) type HashSet64 = HashSet<u64, BuildHasherDefault<Prehashed>>;

/// What to do with the run of a file that begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Count it and add it to the total.
    Count,
    /// Second reading, a path named more than once: keep its records, to
    /// merge with its other runs.
    Keep,
}

/// Which paths were named more than once, by hash.
#[derive(Debug, Default)]
pub(crate) struct Repeats {
    /// First reading: every path so far.
    seen: HashSet64,
    repeated: HashSet64,
    /// How many paths the first reading named.
    distinct: usize,
    second_pass: bool,
}

impl Repeats {
    /// A run of `path` begins.
    pub fn begin(&mut self, path: &str) -> Role {
        let hash = path_hash(path);
        if self.second_pass {
            if self.repeated.contains(&hash) {
                Role::Keep
            } else {
                Role::Count
            }
        } else {
            if !self.seen.insert(hash) {
                self.repeated.insert(hash);
            }
            Role::Count
        }
    }

    /// Whether some path was named more than once in the first reading.
    pub fn any(&self) -> bool {
        !self.repeated.is_empty()
    }

    /// Whether a path of this hash was named more than once.
    pub fn is_repeated(&self, hash: u64) -> bool {
        self.repeated.contains(&hash)
    }

    /// How many paths the first reading named, and how many of them more
    /// than once (by hash: two paths of one hash count once).
    pub fn distinct(&self) -> usize {
        if self.second_pass {
            self.distinct
        } else {
            self.seen.len()
        }
    }

    pub fn repeated(&self) -> usize {
        self.repeated.len()
    }

    pub fn second_pass(&self) -> bool {
        self.second_pass
    }

    /// Get ready for the second reading (or the next: they all keep the
    /// same paths).
    pub fn begin_second_pass(&mut self) {
        if !self.second_pass {
            self.second_pass = true;
            self.distinct = self.seen.len();
            self.seen = HashSet64::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_named_again_later_is_kept_in_the_second_reading() {
        let mut r = Repeats::default();
        for p in ["a.py", "b.py", "a.py", "c.py"] {
            assert_eq!(r.begin(p), Role::Count);
        }
        assert!(r.any());
        r.begin_second_pass();
        assert_eq!((r.distinct(), r.repeated()), (3, 1));
        assert_eq!(r.begin("a.py"), Role::Keep);
        assert_eq!(r.begin("b.py"), Role::Count);
        assert_eq!(r.begin("c.py"), Role::Count);
    }
}
