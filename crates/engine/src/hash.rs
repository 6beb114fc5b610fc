//! A small stable hash (64-bit FNV-1a): the same on every machine and in every version, for
//! shard membership and recipe fingerprints. Not for security.

/// 64-bit FNV-1a of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A map's hasher for keys that are well-mixed 64-bit hashes already (SipHash outputs): the
/// key is passed through instead of being hashed again. Other writes are folded in, for
/// completeness.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Passed(u64);

impl std::hash::Hasher for Passed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Builds [`Passed`] hashers.
pub(crate) type PassedHash = std::hash::BuildHasherDefault<Passed>;

#[cfg(test)]
mod tests {
    #[test]
    fn matches_the_published_test_vectors() {
        assert_eq!(super::fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
