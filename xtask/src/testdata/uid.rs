//! Deterministic DICOM UIDs under the `2.25.` root (a UUID-style decimal integer, PS3.5 B.2).
//!
//! The same (prefix, role, index) always gives the same UID, so reloading a data set is
//! idempotent; a different prefix gives unrelated UIDs, so data sets never collide in one server.

/// FNV-1a 64 over `bytes`, starting from `seed` (the offset basis).
fn fnv1a64(seed: u64, bytes: &[u8]) -> u64 {
    let mut hash = seed;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// A stable 128-bit hash: two FNV-1a passes with different offset bases, then a final mix so
/// that short inputs differing in one byte still differ in the high digits.
pub fn hash128(parts: &[&[u8]]) -> u128 {
    let mut input = Vec::new();
    for part in parts {
        // Length-prefixed, so ("ab","c") and ("a","bc") differ.
        input.extend_from_slice(&(part.len() as u64).to_le_bytes());
        input.extend_from_slice(part);
    }
    let hi = mix(fnv1a64(0xcbf2_9ce4_8422_2325, &input));
    let lo = mix(fnv1a64(0x6c62_272e_07bb_0142, &input));
    (u128::from(hi) << 64) | u128::from(lo)
}

/// splitmix64's finaliser: spreads every input bit over the whole word.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `2.25.<decimal>`: at most 5 + 39 = 44 characters, never a leading zero.
pub fn uid(prefix: &str, role: &str, index: u64) -> String {
    let n = hash128(&[prefix.as_bytes(), role.as_bytes(), &index.to_le_bytes()]);
    // 0 is a valid component, but a UID that is all zeros looks like a bug: avoid it.
    format!("2.25.{}", n.max(1))
}

/// True when `uid` is a syntactically valid DICOM UID (PS3.5 9.1).
#[cfg(test)]
pub fn is_valid(uid: &str) -> bool {
    !uid.is_empty()
        && uid.len() <= 64
        && uid.split('.').all(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()) && (c == "0" || !c.starts_with('0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_stable_valid_and_distinct() {
        assert_eq!(uid("demo", "study", 1), uid("demo", "study", 1));
        assert_ne!(uid("demo", "study", 1), uid("e2e", "study", 1));
        assert_ne!(uid("demo", "study", 1), uid("demo", "series", 1));
        assert_ne!(uid("demo", "study", 1), uid("demo", "study", 2));
        for i in 0..2000 {
            let u = uid("demo", "instance", i);
            assert!(is_valid(&u), "{u}");
            assert!(u.starts_with("2.25."));
        }
        assert!(!is_valid("1.02.3"));
        assert!(!is_valid("1..2"));
        assert!(!is_valid("1.2a"));
    }
}
