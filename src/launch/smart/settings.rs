//! `config.json` `smart`: who we are to the authorization server and which FHIR servers may
//! launch us. Like the rest of the file, nothing in an address changes it.

use super::SmartError;
use serde_json::{Map, Value};
use url::Url;

/// The settings `config.json` `smart` (and `smartLaunch`) take.
pub const KNOWN: [&str; 6] = ["clientId", "scope", "allowedIssuers", "redirectUri", "clientSecret", "tokenEndpointAuthMethod"];

/// The site's SMART registration.
#[derive(Clone, PartialEq)]
pub struct SmartSettings {
    pub client_id: String,
    /// The scopes asked for; the default is [`super::scope::DEFAULT_EHR_SCOPE`].
    pub scope: Option<String>,
    /// FHIR bases (`iss`) that may launch the viewer, compared without a trailing `/`.
    pub allowed_issuers: Vec<Url>,
    /// Where the authorization server sends the user back: `index.html` next to `config.json`
    /// unless set (it must be registered with the client exactly).
    pub redirect_uri: Url,
    /// A confidential client's credentials; `None` for a public client (the usual case: a
    /// static site cannot keep a secret from its users).
    pub client_auth: Option<ClientAuth>,
}

impl std::fmt::Debug for SmartSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmartSettings")
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .field("allowed_issuers", &self.allowed_issuers.iter().map(Url::as_str).collect::<Vec<_>>())
            .field("redirect_uri", &self.redirect_uri.as_str())
            .field("confidential", &self.client_auth.is_some())
            .finish()
    }
}

/// How a confidential client proves itself at the token endpoint.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic` (RFC 6749 §2.3.1, the default).
    Basic(String),
    /// `client_secret` in the form body.
    Post(String),
}

impl SmartSettings {
    /// Parses the `smart` object of `config.json` (at `config_url`); the redirect defaults to
    /// `index.html` beside it.
    pub fn parse(value: &Value, config_url: &Url) -> Result<SmartSettings, SmartError> {
        let index = config_url.join("index.html").map_err(|e| SmartError::Settings(e.to_string()))?;
        Self::parse_at(value, config_url, index)
    }

    /// Parses the settings a page passes to `smartLaunch` or `fromSmartLaunch`: a relative
    /// `redirectUri` is the page's, and the default is the page itself without its query.
    pub fn for_page(value: &Value, page: &Url) -> Result<SmartSettings, SmartError> {
        let mut here = page.clone();
        here.set_query(None);
        here.set_fragment(None);
        Self::parse_at(value, page, here)
    }

    fn parse_at(value: &Value, base: &Url, default_redirect: Url) -> Result<SmartSettings, SmartError> {
        let Value::Object(object) = value else { return Err(bad("smart", "an object")) };
        if let Some(unknown) = object.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(SmartError::Settings(format!("unknown setting smart.{unknown} (known: {})", KNOWN.join(", "))));
        }
        let client_id = text(object, "clientId")?.ok_or(SmartError::Settings("smart.clientId is required".into()))?;
        let scope = text(object, "scope")?;
        let allowed_issuers = match object.get("allowedIssuers") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    let text = item.as_str().ok_or(bad("smart.allowedIssuers", "an array of FHIR base addresses"))?;
                    issuer(text)
                        .ok_or_else(|| SmartError::Settings(format!("smart.allowedIssuers entry {text:?} is not an http(s) FHIR base")))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(bad("smart.allowedIssuers", "an array of FHIR base addresses")),
        };
        let redirect_uri = match text(object, "redirectUri")? {
            Some(redirect) => base.join(&redirect).map_err(|e| SmartError::Settings(format!("smart.redirectUri: {e}")))?,
            None => default_redirect,
        };
        crate::net::check_address(&redirect_uri).map_err(|e| SmartError::Settings(format!("smart.redirectUri: {e}")))?;
        let client_auth = match (text(object, "clientSecret")?, text(object, "tokenEndpointAuthMethod")?.as_deref()) {
            (None, None) => None,
            (Some(secret), None | Some("client_secret_basic")) => Some(ClientAuth::Basic(secret)),
            (Some(secret), Some("client_secret_post")) => Some(ClientAuth::Post(secret)),
            (None, Some(_)) => return Err(SmartError::Settings("smart.tokenEndpointAuthMethod needs smart.clientSecret".into())),
            (Some(_), Some(other)) => {
                return Err(SmartError::Settings(format!(
                    "smart.tokenEndpointAuthMethod {other:?} is not client_secret_basic or client_secret_post"
                )))
            }
        };
        Ok(SmartSettings { client_id, scope, allowed_issuers, redirect_uri, client_auth })
    }

    /// `iss` as an allowed issuer, or why not: an issuer outside the list is never contacted.
    pub fn check_issuer(&self, iss: &str) -> Result<Url, SmartError> {
        let refused = || SmartError::IssuerNotAllowed(iss.chars().take(200).collect());
        let url = issuer(iss).ok_or_else(refused)?;
        self.allowed_issuers.iter().any(|allowed| allowed == &url).then_some(url).ok_or_else(refused)
    }

    /// The scopes of a launch of this kind.
    pub fn scope_for(&self, standalone: bool) -> String {
        match &self.scope {
            Some(scope) => super::scope::launch_scope(scope, standalone),
            None => super::scope::default_scope(standalone),
        }
    }
}

/// A FHIR base written as an issuer: http(s), no query or fragment, no trailing `/`.
fn issuer(text: &str) -> Option<Url> {
    let url = Url::parse(text.trim_end_matches('/')).ok()?;
    let plain = crate::net::check_address(&url).is_ok() && url.query().is_none() && url.fragment().is_none();
    plain.then(|| {
        let trimmed = url.as_str().trim_end_matches('/').to_string();
        Url::parse(&trimmed).unwrap_or(url)
    })
}

fn text(object: &Map<String, Value>, key: &str) -> Result<Option<String>, SmartError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
        Some(_) => Err(bad(&format!("smart.{key}"), "a non-empty string")),
    }
}

fn bad(key: &str, expected: &str) -> SmartError {
    SmartError::Settings(format!("{key} must be {expected}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn site() -> Url {
        Url::parse("https://viewer.example/viewer/config.json").unwrap()
    }

    #[test]
    fn a_public_client_with_its_issuers() {
        let s =
            SmartSettings::parse(&json!({"clientId": "emr-imaging", "allowedIssuers": ["https://ehr.example/fhir/"]}), &site()).unwrap();
        assert_eq!(s.redirect_uri.as_str(), "https://viewer.example/viewer/index.html");
        assert!(s.client_auth.is_none());
        assert_eq!(s.check_issuer("https://ehr.example/fhir").unwrap().as_str(), "https://ehr.example/fhir");
        assert_eq!(s.check_issuer("https://ehr.example/fhir/").unwrap().as_str(), "https://ehr.example/fhir");
        for refused in [
            "https://evil.example/fhir",
            "https://ehr.example/fhir2",
            "https://ehr.example/fhir?x=1",
            "http://ehr.example/fhir",
            "javascript:x",
        ] {
            let err = s.check_issuer(refused).unwrap_err();
            assert_eq!(err, SmartError::IssuerNotAllowed(refused.into()), "{refused}");
        }
        assert!(s.scope_for(true).starts_with("launch/patient "));
    }

    #[test]
    fn a_page_is_its_own_redirect() {
        let page = Url::parse("https://emr.example/chart/imaging.html?iss=x&launch=y#top").unwrap();
        let s = SmartSettings::for_page(&json!({"clientId": "c"}), &page).unwrap();
        assert_eq!(s.redirect_uri.as_str(), "https://emr.example/chart/imaging.html");
        let s = SmartSettings::for_page(&json!({"clientId": "c", "redirectUri": "done.html"}), &page).unwrap();
        assert_eq!(s.redirect_uri.as_str(), "https://emr.example/chart/done.html");
    }

    #[test]
    fn a_confidential_client_and_every_broken_setting() {
        let s =
            SmartSettings::parse(&json!({"clientId": "c", "clientSecret": "s", "tokenEndpointAuthMethod": "client_secret_post"}), &site())
                .unwrap();
        assert!(s.client_auth == Some(ClientAuth::Post("s".into())));
        assert!(!format!("{s:?}").contains("\"s\""), "the secret is not printed");
        for (value, why) in [
            (json!([]), "an object"),
            (json!({}), "clientId is required"),
            (json!({"clientId": "c", "clientID": "x"}), "unknown setting smart.clientID"),
            (json!({"clientId": "c", "allowedIssuers": "https://ehr.example"}), "an array"),
            (json!({"clientId": "c", "allowedIssuers": ["ftp://x"]}), "not an http(s) FHIR base"),
            (json!({"clientId": "c", "tokenEndpointAuthMethod": "client_secret_basic"}), "needs smart.clientSecret"),
            (json!({"clientId": "c", "clientSecret": "s", "tokenEndpointAuthMethod": "private_key_jwt"}), "is not client_secret_basic"),
        ] {
            let err = SmartSettings::parse(&value, &site()).unwrap_err().to_string();
            assert!(err.contains(why), "{value}: {err}");
        }
    }
}
