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
