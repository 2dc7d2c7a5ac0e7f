//! The launch's OpenID Connect `id_token`: who signed in (`fhirUser`, else `sub`), which names
//! the cache partition. It is believed only after its signature checks against the issuer's
//! JWKS (done by the browser's WebCrypto) and its claims are for us (OIDC Core §3.1.3.7);
//! this module holds every rule but the signature arithmetic.

use serde_json::Value;
use thiserror::Error;

/// Clock difference tolerated between the authorization server and this browser.
const CLOCK_SKEW_SECONDS: f64 = 60.0;

/// Why an id_token is not believed. None quotes the token.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum IdTokenError {
    #[error("the id_token is not a signed JWT ({0})")]
    Malformed(&'static str),
    /// An algorithm this browser check does not implement: the id_token is then not used
    /// (the launch goes on, the user named by the access token).
    #[error("the id_token is signed with {0}, which the viewer does not check (RS256 and ES256 only)")]
    Unsupported(String),
    #[error("the id_token is not signed (alg none)")]
    Unsigned,
    #[error("the issuer's keys (JWKS) cannot be used: {0}")]
    Keys(String),
    #[error("the issuer's keys (JWKS) hold no key for this id_token")]
    NoKey,
    #[error("the id_token's signature does not check against the issuer's keys")]
    Signature,
    #[error("the id_token is from {0:?}, not from the server that launched the viewer")]
    Issuer(String),
    #[error("the id_token is not for this viewer (aud or azp names another client)")]
    Audience,
    #[error("the id_token has expired")]
    Expired,
    #[error("the id_token names no user (sub)")]
    NoSubject,
}

impl IdTokenError {
    /// Whether the launch may go on without the id_token: only when we cannot check it at
    /// all. A token that fails a check we can make is refused with the launch.
    pub fn is_unchecked(&self) -> bool {
        matches!(self, IdTokenError::Unsupported(_))
    }
}

/// The signature algorithms checked, as WebCrypto names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (the OIDC default).
    Rs256,
    /// ECDSA P-256 with SHA-256; the JWS signature is `r || s`, as WebCrypto takes it.
    Es256,
}

impl Alg {
    fn kty(self) -> &'static str {
        match self {
            Alg::Rs256 => "RSA",
            Alg::Es256 => "EC",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
        }
    }
}

/// A parsed, not yet believed, id_token.
#[derive(Clone)]
pub struct IdToken {
    pub alg: Alg,
    pub kid: Option<String>,
    /// `header.payload` as sent: the bytes the signature covers.
    pub signing_input: String,
    pub signature: Vec<u8>,
    claims: Value,
}

impl std::fmt::Debug for IdToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdToken").field("alg", &self.alg).field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// Who signed in, from a believed id_token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedInUser {
    pub sub: String,
    /// SMART's `fhirUser`: the FHIR resource of the user (`Practitioner/123`, or absolute).
    pub fhir_user: Option<String>,
}

impl SignedInUser {
    /// The name of the user's cache partition: the FHIR user when given, else the subject.
    pub fn partition_user(&self) -> &str {
        self.fhir_user.as_deref().unwrap_or(&self.sub)
    }
}

fn segment(text: &str, what: &'static str) -> Result<Vec<u8>, IdTokenError> {
    if text.contains(['+', '/', '=']) {
        return Err(IdTokenError::Malformed(what));
    }
    crate::text::base64_decode(text).ok_or(IdTokenError::Malformed(what))
}

impl IdToken {
    /// Splits a compact JWS (RFC 7515 §7.1) and reads its header and claims.
    pub fn parse(jwt: &str) -> Result<IdToken, IdTokenError> {
        let mut parts = jwt.split('.');
        let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(IdTokenError::Malformed("not three parts"));
        };
        let header: Value = serde_json::from_slice(&segment(header, "header")?).map_err(|_| IdTokenError::Malformed("header"))?;
        let claims: Value = serde_json::from_slice(&segment(payload, "claims")?).map_err(|_| IdTokenError::Malformed("claims"))?;
        if !claims.is_object() {
            return Err(IdTokenError::Malformed("claims"));
        }
        let alg = match header.get("alg").and_then(Value::as_str) {
            Some("RS256") => Alg::Rs256,
            Some("ES256") => Alg::Es256,
            Some(none) if none.eq_ignore_ascii_case("none") => return Err(IdTokenError::Unsigned),
            Some(other) => return Err(IdTokenError::Unsupported(other.chars().take(20).collect())),
            None => return Err(IdTokenError::Malformed("no alg")),
        };
        if header.get("crit").is_some() {
            return Err(IdTokenError::Unsupported("a critical header extension".into()));
        }
        let signature = segment(signature, "signature")?;
        if signature.is_empty() {
            return Err(IdTokenError::Unsigned);
        }
        let signing_input = jwt[..jwt.rfind('.').unwrap_or(0)].to_string();
        Ok(IdToken { alg, kid: header.get("kid").and_then(Value::as_str).map(str::to_string), signing_input, signature, claims })
    }

    /// The `iss` the token claims, unchecked: where to look for the keys when the SMART
    /// configuration names none (see [`super::signed_in_user`]).
    pub fn claimed_issuer(&self) -> Option<&str> {
        self.claims.get("iss").and_then(Value::as_str)
    }

    /// The key of `jwks` (a JWK Set, RFC 7517 §5) that signed this token: the one with its
    /// `kid`, or the only key of its type when the token names none. Encryption keys and keys
    /// for another algorithm are never taken.
    pub fn key<'a>(&self, jwks: &'a Value) -> Result<&'a Value, IdTokenError> {
        let keys = jwks.get("keys").and_then(Value::as_array).ok_or(IdTokenError::Keys("no keys array".into()))?;
        let usable = |k: &&Value| {
            let field = |n: &str| k.get(n).and_then(Value::as_str);
            field("kty") == Some(self.alg.kty())
                && field("use").is_none_or(|u| u == "sig")
                && field("alg").is_none_or(|a| a == self.alg.name())
                && (self.alg != Alg::Es256 || field("crv") == Some("P-256"))
        };
        let mut candidates = keys.iter().filter(usable).filter(|k| match &self.kid {
            Some(kid) => k.get("kid").and_then(Value::as_str) == Some(kid),
            None => true,
        });
        match (candidates.next(), candidates.next()) {
            (Some(key), None) => Ok(key),
            (Some(_), Some(_)) => Err(IdTokenError::Keys("more than one key could have signed it and it names none".into())),
            (None, _) => Err(IdTokenError::NoKey),
        }
    }

    /// The claims' checks, once the signature is good: our issuer, our client, not expired.
    pub fn check(&self, issuer: &str, client_id: &str, now_unix: f64) -> Result<SignedInUser, IdTokenError> {
        let claim = |n: &str| self.claims.get(n);
        let iss = claim("iss").and_then(Value::as_str).unwrap_or_default();
        if iss.trim_end_matches('/') != issuer.trim_end_matches('/') {
            return Err(IdTokenError::Issuer(iss.chars().take(200).collect()));
        }
        let audiences: Vec<&str> = match claim("aud") {
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let azp = claim("azp").and_then(Value::as_str);
        if !audiences.contains(&client_id) || azp.is_some_and(|a| a != client_id) || (audiences.len() > 1 && azp.is_none()) {
            return Err(IdTokenError::Audience);
        }
        match claim("exp").and_then(Value::as_f64) {
            Some(exp) if now_unix < exp + CLOCK_SKEW_SECONDS => {}
            _ => return Err(IdTokenError::Expired),
        }
        let sub = claim("sub").and_then(Value::as_str).filter(|s| !s.is_empty() && s.len() <= 255).ok_or(IdTokenError::NoSubject)?;
        let fhir_user = claim("fhirUser").and_then(Value::as_str).filter(|u| !u.is_empty() && u.len() <= 1024).map(str::to_string);
        Ok(SignedInUser { sub: sub.to_string(), fhir_user })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::base64url_encode as b64;
    use serde_json::json;

    fn jwt(header: Value, claims: Value) -> String {
        format!("{}.{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()), b64(b"sig"))
    }

    fn claims() -> Value {
        json!({"iss": "https://as.example", "aud": "viewer", "sub": "u-1", "fhirUser": "Practitioner/7", "exp": 1000, "iat": 900})
    }

    #[test]
    fn a_good_token_names_its_fhir_user() {
        let text = jwt(json!({"alg": "RS256", "kid": "k1"}), claims());
        let token = IdToken::parse(&text).unwrap();
        assert_eq!((token.alg, token.kid.as_deref()), (Alg::Rs256, Some("k1")));
        assert_eq!(token.signature, b"sig");
        assert_eq!(token.signing_input, text[..text.rfind('.').unwrap()]);
        let user = token.check("https://as.example/", "viewer", 950.0).unwrap();
        assert_eq!(user.partition_user(), "Practitioner/7");
        let mut plain = claims();
        plain.as_object_mut().unwrap().remove("fhirUser");
        let user = IdToken::parse(&jwt(json!({"alg": "ES256"}), plain)).unwrap().check("https://as.example", "viewer", 950.0).unwrap();
        assert_eq!(user.partition_user(), "u-1", "without fhirUser, the subject");
        assert!(!format!("{token:?}").contains("u-1"), "Debug shows no claim");
    }

    #[test]
    fn every_claim_rule() {
        let check = |patch: Value, now: f64| {
            let mut c = claims();
            for (k, v) in patch.as_object().unwrap() {
                if v.is_null() {
                    c.as_object_mut().unwrap().remove(k);
                } else {
                    c[k] = v.clone();
                }
            }
            IdToken::parse(&jwt(json!({"alg": "RS256"}), c)).unwrap().check("https://as.example", "viewer", now)
        };
        assert!(check(json!({}), 1059.0).is_ok(), "a minute of clock skew");
        assert_eq!(check(json!({}), 1060.0), Err(IdTokenError::Expired));
        assert_eq!(check(json!({"exp": null}), 0.0), Err(IdTokenError::Expired));
        assert_eq!(check(json!({"iss": "https://evil.example"}), 950.0), Err(IdTokenError::Issuer("https://evil.example".into())));
        assert_eq!(check(json!({"aud": "other"}), 950.0), Err(IdTokenError::Audience));
        assert_eq!(check(json!({"aud": ["viewer", "other"]}), 950.0), Err(IdTokenError::Audience), "several audiences need azp");
        assert!(check(json!({"aud": ["viewer", "other"], "azp": "viewer"}), 950.0).is_ok());
        assert_eq!(check(json!({"azp": "other"}), 950.0), Err(IdTokenError::Audience));
        assert_eq!(check(json!({"sub": ""}), 950.0), Err(IdTokenError::NoSubject));
        assert_eq!(check(json!({"sub": null}), 950.0), Err(IdTokenError::NoSubject));
    }

    #[test]
    fn broken_unsigned_and_unchecked_tokens() {
        assert_eq!(IdToken::parse("a.b").unwrap_err(), IdTokenError::Malformed("not three parts"));
        assert_eq!(IdToken::parse("a.b.c.d").unwrap_err(), IdTokenError::Malformed("not three parts"));
        assert_eq!(IdToken::parse("!!.e30.c2ln").unwrap_err(), IdTokenError::Malformed("header"));
        let none = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(claims().to_string().as_bytes()));
        assert_eq!(IdToken::parse(&none).unwrap_err(), IdTokenError::Unsigned);
        let empty = format!("{}.{}.", b64(br#"{"alg":"RS256"}"#), b64(claims().to_string().as_bytes()));
        assert_eq!(IdToken::parse(&empty).unwrap_err(), IdTokenError::Unsigned, "RS256 with no signature");
        let hs = IdToken::parse(&jwt(json!({"alg": "HS256"}), claims())).unwrap_err();
        assert!(hs.is_unchecked(), "{hs}");
        assert!(!IdTokenError::Signature.is_unchecked());
        let crit = IdToken::parse(&jwt(json!({"alg": "RS256", "crit": ["b64"]}), claims())).unwrap_err();
        assert!(crit.is_unchecked());
        let padded = jwt(json!({"alg": "RS256"}), claims()) + "=";
        assert_eq!(IdToken::parse(&padded).unwrap_err(), IdTokenError::Malformed("signature"));
    }

    #[test]
    fn the_key_that_signed_it() {
        let jwks = json!({"keys": [
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "x", "e": "AQAB"},
            {"kty": "RSA", "kid": "k1", "alg": "RS256", "n": "a", "e": "AQAB"},
            {"kty": "RSA", "kid": "k2", "use": "sig", "n": "b", "e": "AQAB"},
            {"kty": "EC", "kid": "e1", "crv": "P-384", "x": "x", "y": "y"},
            {"kty": "EC", "kid": "e2", "crv": "P-256", "x": "x", "y": "y"}
        ]});
        let token = |header: Value| IdToken::parse(&jwt(header, claims())).unwrap();
        assert_eq!(token(json!({"alg": "RS256", "kid": "k2"})).key(&jwks).unwrap()["n"], "b");
        assert_eq!(token(json!({"alg": "RS256", "kid": "enc"})).key(&jwks), Err(IdTokenError::NoKey), "no encryption key");
        assert_eq!(token(json!({"alg": "ES256", "kid": "e1"})).key(&jwks), Err(IdTokenError::NoKey), "no other curve");
        assert_eq!(token(json!({"alg": "ES256"})).key(&jwks).unwrap()["kid"], "e2", "the only P-256 key");
        assert!(matches!(token(json!({"alg": "RS256"})).key(&jwks), Err(IdTokenError::Keys(_))), "two RSA keys, no kid");
        assert!(matches!(token(json!({"alg": "RS256"})).key(&json!({})), Err(IdTokenError::Keys(_))));
    }
}
