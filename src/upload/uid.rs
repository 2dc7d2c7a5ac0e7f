//! New DICOM UIDs in the `2.25.<UUID as a decimal>` form (PS3.5 B.2): no registered root needed.

/// A 2.25 UID from 16 random bytes (set as a version 4 UUID).
pub fn uid_from_random(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    format!("2.25.{}", u128::from_be_bytes(bytes))
}
