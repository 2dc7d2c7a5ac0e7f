//! Attribute tags: (group, element) pairs, ordered the way the standard orders a data set.

use std::fmt;

/// A DICOM attribute tag `(group, element)`. Ordering is group then element, the order a
/// conformant data set is written in, so a sorted `Vec` can be binary-searched.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Tag(pub u16, pub u16);

impl Tag {
    /// The group number.
    pub const fn group(self) -> u16 {
        self.0
    }

    /// The element number.
    pub const fn element(self) -> u16 {
        self.1
    }

    /// Private tags (odd groups) have vendor-defined meaning.
    pub const fn is_private(self) -> bool {
        self.0 & 1 == 1
    }

    /// The key of this attribute in the DICOM JSON model (PS3.18 F.2): eight upper-case hex
    /// digits, `0020000D`.
    pub fn json_key(self) -> JsonKey {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let word = (u32::from(self.0) << 16) | u32::from(self.1);
        let mut key = [0u8; 8];
        for (i, digit) in key.iter_mut().enumerate() {
            *digit = HEX[((word >> (28 - 4 * i)) & 0xF) as usize];
        }
        JsonKey(key)
    }
}

/// A tag's DICOM JSON key, without an allocation ([`Tag::json_key`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct JsonKey([u8; 8]);

impl JsonKey {
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::ops::Deref for JsonKey {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for JsonKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Shown the way the standard and every tool print it: `(0010,0020)`.
impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({:04X},{:04X})", self.0, self.1)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
