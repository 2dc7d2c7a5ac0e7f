//! AuthMapper: the bearer token goes only to origins the host allowed.

use super::Request;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use url::{Origin, Url};

/// The host's way to get a fresh token (e.g. a SMART refresh), called once after a 401.
pub type TokenProvider = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = Option<String>>>>>;

/// Decides, per request, whether the bearer token is attached.
///
/// The allowed origins are the FHIR base origin plus an explicit list from the host. An
/// Endpoint address taken from FHIR data is server-controlled: if it points anywhere else it
/// gets no token, so a poisoned Endpoint cannot exfiltrate the user's credentials.
#[derive(Clone, Default)]
pub struct AuthMapper {
    allowed: Vec<Origin>,
    /// Interior mutability: the host may swap the token while requests are in flight.
    token: RefCell<Option<String>>,
    provider: RefCell<Option<TokenProvider>>,
}

impl std::fmt::Debug for AuthMapper {
    /// Never prints the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthMapper")
            .field("allowed", &self.allowed.iter().map(|o| o.ascii_serialization()).collect::<Vec<_>>())
            .field("has_token", &self.has_token())
            .field("has_provider", &self.has_provider())
            .finish()
    }
}

impl AuthMapper {
    /// Allows `fhir_base`'s origin and each of `extra_origins` (absolute URLs; anything that does
    /// not parse to a tuple origin is ignored rather than widening access).
    pub fn new(fhir_base: &Url, extra_origins: &[String]) -> Self {
        let mut allowed = vec![fhir_base.origin()];
        for extra in extra_origins {
            if let Ok(url) = Url::parse(extra) {
                let origin = url.origin();
                if origin.is_tuple() && !allowed.contains(&origin) {
                    allowed.push(origin);
                }
            }
        }
        AuthMapper { allowed, token: RefCell::new(None), provider: RefCell::new(None) }
    }

    /// Replaces the token; `None` or an empty string means no token.
    pub fn set_token(&self, token: Option<String>) {
        *self.token.borrow_mut() = token.filter(|t| !t.is_empty());
    }

    pub fn has_token(&self) -> bool {
        self.token.borrow().is_some()
    }

    /// Sets (or clears) the provider asked for a new token after a 401.
    pub fn set_provider(&self, provider: Option<TokenProvider>) {
        *self.provider.borrow_mut() = provider;
    }

    pub fn has_provider(&self) -> bool {
        self.provider.borrow().is_some()
    }

    /// Asks the provider for a new token; true if it gave one different from the current token.
    pub async fn refresh(&self) -> bool {
        let Some(provider) = self.provider.borrow().clone() else { return false };
        let fresh = provider().await.filter(|t| !t.is_empty());
        let changed = fresh.is_some() && fresh != *self.token.borrow();
        if changed {
            self.set_token(fresh);
        }
        changed
    }

    /// The token, but only for a URL whose origin is allowed (to fill an Endpoint's header
    /// template); never for any other.
    pub fn token_for(&self, url: &Url) -> Option<String> {
        if self.is_allowed(url) {
            self.token.borrow().clone()
        } else {
            None
        }
    }

    /// Whether a request to `url` may carry the token.
    pub fn is_allowed(&self, url: &Url) -> bool {
        let origin = url.origin();
        origin.is_tuple() && self.allowed.contains(&origin)
    }

    /// Adds `Authorization: Bearer …` when the request's origin is allowed and no
    /// Authorization header is set yet; removes a stray one when the origin is not allowed.
    pub fn authorize(&self, request: &mut Request) {
        if !self.is_allowed(&request.url) {
            request.headers.retain(|(name, _)| !name.eq_ignore_ascii_case("authorization"));
            return;
        }
        if request.withhold_token {
            return;
        }
        if let Some(token) = self.token.borrow().as_ref() {
            if request.header_value("authorization").is_none() {
                request.headers.push(("Authorization".into(), format!("Bearer {token}")));
            }
        }
    }
}

/// The `sub` claim of a JWT access token (without verifying it: it only names a partition);
/// `None` for opaque tokens.
pub fn token_subject(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = crate::text::base64_decode(payload)?;
    let json: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    json.get("sub")?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_subject() {
        // {"alg":"none"} . {"sub":"dr-who","patient":"p1"} . (no signature)
        let token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJkci13aG8iLCJwYXRpZW50IjoicDEifQ.";
        assert_eq!(token_subject(token).as_deref(), Some("dr-who"));
        assert_eq!(token_subject("opaque-token"), None);
        assert_eq!(token_subject("a.!!!.c"), None);
    }

    fn mapper() -> AuthMapper {
        let base = Url::parse("https://ehr.example.org/fhir/").unwrap();
        let m = AuthMapper::new(&base, &["https://pacs.example.org:8443".into(), "not a url".into()]);
        m.set_token(Some("secret".into()));
        m
    }

    fn auth_of(m: &AuthMapper, url: &str) -> Option<String> {
        let mut r = Request::get(Url::parse(url).unwrap());
        m.authorize(&mut r);
        r.header_value("Authorization").map(str::to_string)
    }

    #[test]
    fn token_goes_to_fhir_origin_and_allow_list() {
        let m = mapper();
        assert_eq!(auth_of(&m, "https://ehr.example.org/fhir/ImagingStudy").as_deref(), Some("Bearer secret"));
        assert_eq!(auth_of(&m, "https://pacs.example.org:8443/dicom-web/studies").as_deref(), Some("Bearer secret"));
    }

    #[test]
    fn token_never_goes_to_other_origins() {
        let m = mapper();
        // Same host, other port; other scheme; look-alike host; userinfo trick.
        for url in [
            "https://pacs.example.org/dicom-web",
            "http://ehr.example.org/fhir",
            "https://ehr.example.org.evil.test/fhir",
            "https://ehr.example.org@evil.test/fhir",
            "data:text/plain,x",
        ] {
            assert_eq!(auth_of(&m, url), None, "{url}");
        }
    }

    #[test]
    fn stray_authorization_is_removed_for_foreign_origins() {
        let m = mapper();
        let mut r = Request::get(Url::parse("https://evil.test/").unwrap()).header("authorization", "Bearer x");
        m.authorize(&mut r);
        assert_eq!(r.header_value("Authorization"), None);
    }

    #[test]
    fn withheld_and_template_tokens_follow_the_allow_list() {
        let m = mapper();
        let mut r = Request::get(Url::parse("https://ehr.example.org/fhir/x").unwrap());
        r.withhold_token = true;
        m.authorize(&mut r);
        assert_eq!(r.header_value("Authorization"), None, "the endpoint asked for no token");
        assert_eq!(m.token_for(&Url::parse("https://pacs.example.org:8443/x").unwrap()).as_deref(), Some("secret"));
        assert_eq!(m.token_for(&Url::parse("https://evil.test/x").unwrap()), None);
    }

    #[test]
    fn no_token_no_header() {
        let m = mapper();
        m.set_token(Some(String::new()));
        assert_eq!(auth_of(&m, "https://ehr.example.org/fhir/x"), None);
    }
}
