//! `<iss>/.well-known/smart-configuration`: where to authorize and exchange the code, whether
//! PKCE S256 is offered, and where the imaging FHIR server is (SMART Imaging Access).

use super::SmartError;
use serde_json::Value;
use url::Url;

/// The capability that says a FHIR server serves ImagingStudy with WADO-RS Endpoints.
pub const IMAGING_CAPABILITY: &str = "smart-imaging-access";

/// What we use of a server's SMART configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct SmartConfiguration {
    pub issuer: Option<String>,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub revocation_endpoint: Option<Url>,
    /// The issuer's signing keys (JWKS), which the id_token is checked against.
    pub jwks_uri: Option<Url>,
    pub capabilities: Vec<String>,
    /// `associated_endpoints[]`: other FHIR servers the same token is good for.
    pub associated_endpoints: Vec<(Url, Vec<String>)>,
}

impl SmartConfiguration {
    /// Parses the document fetched from `iss`. A server that does not offer S256 (or offers
    /// only `plain`) is refused: a code without PKCE could be used by whoever intercepts it.
    pub fn parse(text: &str) -> Result<SmartConfiguration, SmartError> {
        let json: Value = serde_json::from_str(text).map_err(|e| SmartError::Discovery(format!("not JSON: {e}")))?;
        let endpoint = |key: &'static str| -> Result<Option<Url>, SmartError> {
            match json.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => {
                    let url = Url::parse(s).map_err(|e| SmartError::Discovery(format!("{key} {s:?}: {e}")))?;
                    crate::net::check_address(&url).map_err(|e| SmartError::Discovery(format!("{key}: {e}")))?;
                    Ok(Some(url))
                }
                Some(_) => Err(SmartError::Discovery(format!("{key} is not a string"))),
            }
        };
        let authorization_endpoint =
            endpoint("authorization_endpoint")?.ok_or(SmartError::Discovery("no authorization_endpoint".into()))?;
        let token_endpoint = endpoint("token_endpoint")?.ok_or(SmartError::Discovery("no token_endpoint".into()))?;
        let revocation_endpoint = endpoint("revocation_endpoint")?;
        let jwks_uri = endpoint("jwks_uri")?;
        let methods = strings(json.get("code_challenge_methods_supported"));
        if !methods.iter().any(|m| m == "S256") {
            return Err(SmartError::NoS256(if methods.is_empty() { "none".into() } else { methods.join(", ") }));
        }
        let associated_endpoints = json
            .get("associated_endpoints")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| {
                        let url = Url::parse(item.get("url")?.as_str()?).ok()?;
                        crate::net::check_address(&url).ok()?;
                        Some((url, strings(item.get("capabilities"))))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(SmartConfiguration {
            issuer: json.get("issuer").and_then(Value::as_str).map(str::to_string),
            authorization_endpoint,
            token_endpoint,
            revocation_endpoint,
            jwks_uri,
            capabilities: strings(json.get("capabilities")),
            associated_endpoints,
        })
    }

    /// The FHIR base the images are found at: `iss` itself when it says it serves imaging (or
    /// when nothing says otherwise), else the first associated endpoint that does.
    pub fn imaging_base(&self, iss: &Url) -> Url {
        if self.capabilities.iter().any(|c| c == IMAGING_CAPABILITY) {
            return iss.clone();
        }
        self.associated_endpoints
            .iter()
            .find(|(_, capabilities)| capabilities.iter().any(|c| c == IMAGING_CAPABILITY))
            .map(|(url, _)| url.clone())
            .unwrap_or_else(|| iss.clone())
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value.and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default()
}

/// `<iss>/.well-known/smart-configuration` (the base may or may not end in `/`).
pub fn discovery_url(iss: &Url) -> Result<Url, SmartError> {
    let base = format!("{}/", iss.as_str().trim_end_matches('/'));
    Url::parse(&base).and_then(|b| b.join(".well-known/smart-configuration")).map_err(|e| SmartError::Discovery(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{
      "issuer": "https://as.example",
      "authorization_endpoint": "https://as.example/auth",
      "token_endpoint": "https://as.example/token",
      "code_challenge_methods_supported": ["S256"],
      "capabilities": ["launch-ehr", "client-public"],
      "associated_endpoints": [
        {"url": "https://img.example/fhir", "capabilities": ["smart-imaging-access"]},
        {"url": "javascript:alert(1)", "capabilities": ["smart-imaging-access"]}
      ]
    }"#;

    #[test]
    fn a_configuration_with_s256_and_an_imaging_endpoint() {
        let config = SmartConfiguration::parse(DOC).unwrap();
        assert_eq!(config.token_endpoint.as_str(), "https://as.example/token");
        assert_eq!(config.associated_endpoints.len(), 1, "an unfetchable address is dropped");
        let iss = Url::parse("https://ehr.example/fhir").unwrap();
        assert_eq!(config.imaging_base(&iss).as_str(), "https://img.example/fhir");
        let own = SmartConfiguration { capabilities: vec![IMAGING_CAPABILITY.into()], ..config.clone() };
        assert_eq!(own.imaging_base(&iss), iss, "the server's own capability wins");
        let none = SmartConfiguration { associated_endpoints: vec![], ..config };
        assert_eq!(none.imaging_base(&iss), iss);
    }

    #[test]
    fn plain_only_or_no_pkce_is_refused() {
        let plain = DOC.replace(r#"["S256"]"#, r#"["plain"]"#);
        assert_eq!(SmartConfiguration::parse(&plain), Err(SmartError::NoS256("plain".into())));
        let none = DOC.replace(r#""code_challenge_methods_supported": ["S256"],"#, "");
        assert_eq!(SmartConfiguration::parse(&none), Err(SmartError::NoS256("none".into())));
        assert!(SmartError::NoS256("plain".into()).to_string().contains("S256"));
        let no_token = DOC.replace("token_endpoint", "x");
        assert!(matches!(SmartConfiguration::parse(&no_token), Err(SmartError::Discovery(_))));
    }

    #[test]
    fn the_discovery_address_sits_under_the_base() {
        for base in ["https://ehr.example/fhir", "https://ehr.example/fhir/"] {
            let url = discovery_url(&Url::parse(base).unwrap()).unwrap();
            assert_eq!(url.as_str(), "https://ehr.example/fhir/.well-known/smart-configuration");
        }
    }
}
