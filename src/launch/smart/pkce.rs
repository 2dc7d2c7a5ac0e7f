//! PKCE (RFC 7636) with S256 only, and the OAuth `state`: both made from random bytes the
//! caller draws (the browser's `crypto.getRandomValues`), so this stays platform-free and
//! testable with fixed bytes.

use crate::text::base64url_encode;
use sha2::{Digest, Sha256};

/// Random bytes behind a verifier or a state: 256 bits, over SMART's 122-bit minimum.
pub const RANDOM_BYTES: usize = 32;

/// A code verifier and its S256 challenge. The verifier never leaves this app except in the
/// token request; the challenge goes in the authorize address.
#[derive(Clone, PartialEq, Eq)]
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl std::fmt::Debug for Pkce {
    /// The verifier is a secret until it is used.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce").field("challenge", &self.challenge).finish_non_exhaustive()
    }
}

impl Pkce {
    /// A verifier of 43 base64url characters (the shortest RFC 7636 allows) from `random`.
    pub fn from_random(random: &[u8; RANDOM_BYTES]) -> Pkce {
        let verifier = base64url_encode(random);
        let challenge = challenge_s256(&verifier);
        Pkce { verifier, challenge }
    }
}

/// `BASE64URL(SHA256(ASCII(verifier)))`.
pub fn challenge_s256(verifier: &str) -> String {
    base64url_encode(&Sha256::digest(verifier.as_bytes()))
}

/// A fresh `state`: 256 random bits, base64url.
pub fn new_state(random: &[u8; RANDOM_BYTES]) -> String {
    base64url_encode(random)
}

/// Whether the `state` that came back is the one sent, compared in time that does not depend
/// on where they differ.
pub fn state_matches(sent: &str, returned: &str) -> bool {
    sent.len() == returned.len() && !sent.is_empty() && sent.bytes().zip(returned.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B: the octets, the verifier they encode to, and its challenge.
    #[test]
    fn rfc_7636_appendix_b() {
        let octets: [u8; 32] = [
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88,
            83, 132, 141, 121,
        ];
        let pkce = Pkce::from_random(&octets);
        assert_eq!(pkce.verifier, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(pkce.challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(!format!("{pkce:?}").contains(&pkce.verifier), "the verifier is never printed");
    }

    #[test]
    fn state_has_256_bits_and_is_checked_exactly() {
        let state = new_state(&[7; RANDOM_BYTES]);
        assert_eq!(state.len(), 43);
        assert!(state.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert!(state_matches(&state, &state.clone()));
        let mut other = state.clone().into_bytes();
        other[42] = if other[42] == b'A' { b'B' } else { b'A' };
        assert!(!state_matches(&state, &String::from_utf8(other).unwrap()));
        assert!(!state_matches(&state, &state[..42]));
        assert!(!state_matches("", ""), "an empty state proves nothing");
        assert_ne!(new_state(&[1; RANDOM_BYTES]), new_state(&[2; RANDOM_BYTES]));
    }
}
