//! Text helpers without the standard library's large tables.
//!
//! Upper-casing for names (banner display, the identity check) without `char::to_uppercase`,
//! whose Unicode tables cost about 6 KB of the gzipped wasm: Latin-1, Latin Extended-A, Greek
//! and Cyrillic fold as Unicode folds them; any other character is kept as it is. For the
//! identity check that errs on the safe side: a name in another script must then match exactly,
//! so a case-only difference there blocks the image rather than passing a wrong one.

/// The upper-case form of `c` in the scripts above (one character; `ß` stays `ß`).
pub fn upper(c: char) -> char {
    let u = u32::from(c);
    let mapped = match u {
        0x61..=0x7A => u - 0x20,
        0xE0..=0xFE if u != 0xF7 => u - 0x20,
        0xFF => 0x178,
        // Latin Extended-A: upper/lower pairs, the lower one odd or even depending on the block.
        0x100..=0x137 if u % 2 == 1 && u != 0x131 => u - 1,
        0x139..=0x148 | 0x179..=0x17E if u % 2 == 0 => u - 1,
        0x14A..=0x177 if u % 2 == 1 => u - 1,
        0x3AC => 0x386,
        0x3AD..=0x3AF => u - 0x25,
        0x3B1..=0x3C1 | 0x3C3..=0x3CB => u - 0x20,
        0x3C2 => 0x3A3,
        0x3CC => 0x38C,
        0x3CD..=0x3CE => u - 0x3F,
        0x430..=0x44F => u - 0x20,
        0x450..=0x45F => u - 0x50,
        _ => u,
    };
    char::from_u32(mapped).unwrap_or(c)
}

/// `s` upper-cased by [`upper`].
pub fn to_upper(s: &str) -> String {
    s.chars().map(upper).collect()
}

/// Base64, standard or URL-safe alphabet, padding optional (JWT payloads, DICOM InlineBinary).
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = text.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= value(c)? << (18 - 6 * i);
        }
        let n = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        out.extend_from_slice(&acc.to_be_bytes()[1..1 + n]);
    }
    Some(out)
}

/// Base64url without padding (RFC 4648 §5): PKCE verifiers and challenges, OAuth `state`.
pub fn base64url_encode(bytes: &[u8]) -> String {
    encode(bytes, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", false)
}

/// Base64 with padding (RFC 4648 §4): HTTP Basic credentials.
pub fn base64_encode(bytes: &[u8]) -> String {
    encode(bytes, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", true)
}

fn encode(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let acc = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(alphabet[(acc >> (18 - 6 * i) & 63) as usize]));
        }
        if pad {
            out.extend(std::iter::repeat_n('=', 3 - chunk.len()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for text in ["", "f", "fo", "foo", "foob", "fooba", "foobar"] {
            assert_eq!(base64_decode(&base64_encode(text.as_bytes())).unwrap(), text.as_bytes());
            assert_eq!(base64_decode(&base64url_encode(text.as_bytes())).unwrap(), text.as_bytes());
        }
        assert_eq!(base64_encode(b"foob"), "Zm9vYg==");
        assert_eq!(base64url_encode(&[0xfb, 0xff]), "-_8");
    }

    /// Where we fold, we fold exactly as Unicode does.
    #[test]
    fn agrees_with_unicode_in_the_covered_scripts() {
        let covered = (0x61..=0x7Au32).chain(0xC0..=0x17F).chain(0x386..=0x3CE).chain(0x400..=0x45F);
        for u in covered {
            let Some(c) = char::from_u32(u) else { continue };
            let unicode: Vec<char> = c.to_uppercase().collect();
            let ours = upper(c);
            if unicode.len() == 1 && ours != c {
                assert_eq!(ours, unicode[0], "U+{u:04X}");
            }
            // Characters we keep are either already upper case or outside what we claim.
            if ours == c && unicode.len() == 1 && unicode[0] != c {
                assert!(matches!(u, 0x131 | 0x17F), "U+{u:04X} should fold");
            }
        }
    }

    #[test]
    fn names_fold() {
        assert_eq!(to_upper("Müller-Łukasik"), "MÜLLER-ŁUKASIK");
        assert_eq!(to_upper("Παπαδόπουλος"), "ΠΑΠΑΔΌΠΟΥΛΟΣ");
        assert_eq!(to_upper("Иванова"), "ИВАНОВА");
        assert_eq!(to_upper("Straße"), "STRAßE");
        assert_eq!(to_upper("山田"), "山田");
    }
}
