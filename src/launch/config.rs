//! The hosted viewer's site settings, `viewer/config.json`: read once at start and validated
//! whole. It is the only source of server addresses and allow-lists; a URL parameter or a
//! message never changes one.

use super::smart::SmartSettings;
use super::PatientIdSystems;
use crate::net::check_address;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use thiserror::Error;
use url::Url;

/// What a site configured. Addresses are absolute (relative ones are resolved against the
/// address of `config.json` itself, so the folder can be copied anywhere).
#[derive(Debug, Clone, PartialEq)]
pub struct ViewerConfig {
    pub fhir_base: Url,
    /// Every study's DICOMweb service, over the Endpoints FHIR names.
    pub dicomweb_base: Option<Url>,
    /// Further origins that may receive the token (the FHIR and DICOMweb bases' always may).
    pub allowed_origins: Vec<String>,
    /// Windows whose messages are accepted (and which are told the viewer is ready).
    pub parent_origins: Vec<String>,
    /// IID: a CX assigning authority (or the HD's universal id) → a FHIR identifier system.
    pub patient_id_systems: PatientIdSystems,
    /// An IID endpoint of a diagnostic viewer, for the "Open in diagnostic viewer" button.
    pub external_iid_viewer: Option<Url>,
    /// SMART App Launch: the client registration and the issuers that may launch us.
    pub smart: Option<SmartSettings>,
    /// A FHIRcast hub to follow: `fhircast { hubUrl, topic }`.
    pub fhircast: Option<FhircastSetting>,
}

/// `hub.url` and `hub.topic` of the FHIRcast session the viewer follows.
#[derive(Debug, Clone, PartialEq)]
pub struct FhircastSetting {
    pub hub_url: Url,
    pub topic: String,
}

/// Why `config.json` cannot be used. Each names the setting and the rule, for the site's IT.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ConfigError {
    #[error("viewer/config.json could not be read: {0}")]
    Unreadable(String),
    #[error("viewer/config.json is not valid JSON: {0}")]
    NotJson(String),
    #[error("viewer/config.json must hold one JSON object")]
    NotAnObject,
    #[error("viewer/config.json lacks {0}, which is required")]
    Missing(&'static str),
    #[error("viewer/config.json: {key} must be {expected}")]
    WrongType { key: String, expected: &'static str },
    #[error("viewer/config.json: {key} {value:?} cannot be used: {why}")]
    BadAddress { key: String, value: String, why: String },
    #[error("viewer/config.json: {key} entry {value:?} is not an origin (scheme://host[:port], nothing after it)")]
    BadOrigin { key: String, value: String },
    #[error("viewer/config.json: unknown setting {0:?} (known: {known})", known = KNOWN.join(", "))]
    Unknown(String),
    #[error("{0}")]
    Smart(String),
}

const KNOWN: [&str; 8] =
    ["fhirBaseUrl", "dicomwebBaseUrl", "allowedOrigins", "parentOrigins", "iid", "externalIidViewer", "smart", "fhircast"];

impl ViewerConfig {
    /// Parses `text`, the body of `config.json` fetched from `config_url`.
    pub fn parse(text: &str, config_url: &Url) -> Result<ViewerConfig, ConfigError> {
        let json: Value = serde_json::from_str(text).map_err(|e| ConfigError::NotJson(e.to_string()))?;
        let Value::Object(object) = json else { return Err(ConfigError::NotAnObject) };
        // A typo (`fhirBaseURL`) must not leave a setting at its default unnoticed.
        if let Some(unknown) = object.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(ConfigError::Unknown(unknown.clone()));
        }
        let fhir_base = address(&object, "fhirBaseUrl", config_url)?.ok_or(ConfigError::Missing("fhirBaseUrl"))?;
        let dicomweb_base = address(&object, "dicomwebBaseUrl", config_url)?;
        let external_iid_viewer = address(&object, "externalIidViewer", config_url)?;
        let patient_id_systems = match object.get("iid") {
            None | Some(Value::Null) => PatientIdSystems::default(),
            Some(Value::Object(iid)) => {
                if let Some(unknown) = iid.keys().find(|k| k.as_str() != "patientIdSystems") {
                    return Err(ConfigError::Unknown(format!("iid.{unknown}")));
                }
                systems(iid.get("patientIdSystems"))?
            }
            Some(_) => return Err(ConfigError::WrongType { key: "iid".into(), expected: "an object" }),
        };
        let smart = match object.get("smart") {
            None | Some(Value::Null) => None,
            Some(value) => Some(SmartSettings::parse(value, config_url).map_err(|e| ConfigError::Smart(e.to_string()))?),
        };
        if let Some(smart) = &smart {
            // The standalone launch's issuer is the FHIR base: it must be one the site allows.
            if !smart.allowed_issuers.is_empty() && smart.check_issuer(fhir_base.as_str()).is_err() {
                return Err(ConfigError::Smart(format!(
                    "viewer/config.json: fhirBaseUrl {} must be one of smart.allowedIssuers",
                    fhir_base.as_str()
                )));
            }
        }
        let fhircast = match object.get("fhircast") {
            None | Some(Value::Null) => None,
            Some(Value::Object(cast)) => {
                if let Some(unknown) = cast.keys().find(|k| !["hubUrl", "topic"].contains(&k.as_str())) {
                    return Err(ConfigError::Unknown(format!("fhircast.{unknown}")));
                }
                let hub_url = address(cast, "hubUrl", config_url)?.ok_or(ConfigError::Missing("fhircast.hubUrl"))?;
                let topic = match cast.get("topic") {
                    Some(Value::String(t)) if !t.trim().is_empty() => t.trim().to_string(),
                    _ => return Err(ConfigError::WrongType { key: "fhircast.topic".into(), expected: "a non-empty string" }),
                };
                Some(FhircastSetting { hub_url, topic })
            }
            Some(_) => return Err(ConfigError::WrongType { key: "fhircast".into(), expected: "an object { hubUrl, topic }" }),
        };
        Ok(ViewerConfig {
            smart,
            fhir_base,
            dicomweb_base,
            allowed_origins: origins(&object, "allowedOrigins")?,
            parent_origins: origins(&object, "parentOrigins")?,
            patient_id_systems,
            external_iid_viewer,
            fhircast,
        })
    }

    /// The FHIRcast session to follow. An EHR that launched us names its session in the token
    /// response (`hub.url`, `hub.topic`), and that one wins over the site's: it is this user's.
    /// A token response with a topic but no hub keeps the site's hub. A hub the EHR names must
    /// be an http(s) address; it gets the token only if its origin is allowed, like any server.
    pub fn fhircast_session(&self, hub_url: Option<&str>, hub_topic: Option<&str>) -> Option<FhircastSetting> {
        let topic = hub_topic.map(str::trim).filter(|t| !t.is_empty());
        let hub = hub_url.and_then(|u| Url::parse(u.trim()).ok()).filter(|u| check_address(u).is_ok());
        match (hub, topic, &self.fhircast) {
            (Some(hub_url), Some(topic), _) => Some(FhircastSetting { hub_url, topic: topic.to_string() }),
            (None, Some(topic), Some(site)) => Some(FhircastSetting { hub_url: site.hub_url.clone(), topic: topic.to_string() }),
            (_, _, site) => site.clone(),
        }
    }

    /// Whether a message from `origin` is for us: an exact match with a `parentOrigins` entry.
    pub fn accepts_messages_from(&self, origin: &str) -> bool {
        self.parent_origins.iter().any(|o| o == origin)
    }

    /// The origins that may receive the token: the servers this file names, then the list.
    pub fn token_origins(&self) -> Vec<String> {
        let mut origins: Vec<String> = self.dicomweb_base.iter().map(|u| u.origin().ascii_serialization()).collect();
        origins.extend(self.allowed_origins.iter().cloned());
        origins
    }
}

/// An optional http(s) address, resolved against `base`.
fn address(object: &Map<String, Value>, key: &str, base: &Url) -> Result<Option<Url>, ConfigError> {
    let text = match object.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim(),
        Some(_) => return Err(ConfigError::WrongType { key: key.into(), expected: "a non-empty string (an http or https address)" }),
    };
    let bad = |why: String| ConfigError::BadAddress { key: key.into(), value: text.into(), why };
    let url = base.join(text).map_err(|e| bad(e.to_string()))?;
    check_address(&url).map_err(|e| bad(e.to_string()))?;
    Ok(Some(url))
}

/// A list of origins, each exactly `scheme://host[:port]` (a trailing `/` is tolerated).
fn origins(object: &Map<String, Value>, key: &str) -> Result<Vec<String>, ConfigError> {
    let items = match object.get(key) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(ConfigError::WrongType { key: key.into(), expected: "an array of origins" }),
    };
    items
        .iter()
        .map(|item| {
            let text = item.as_str().ok_or(ConfigError::WrongType { key: key.into(), expected: "an array of strings" })?;
            origin(text).ok_or_else(|| ConfigError::BadOrigin { key: key.into(), value: text.into() })
        })
        .collect()
}

/// `https://emr.example:8443` (or with one trailing `/`) → itself; `*`, paths, queries,
/// userinfo and non-http(s) schemes → none.
pub fn origin(text: &str) -> Option<String> {
    let url = Url::parse(text).ok()?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none();
    let origin = url.origin().ascii_serialization();
    // Written as it is serialised, so what the site wrote is what is compared.
    (plain && text.strip_suffix('/').unwrap_or(text) == origin).then_some(origin)
}

fn systems(value: Option<&Value>) -> Result<PatientIdSystems, ConfigError> {
    const KEY: &str = "iid.patientIdSystems";
    let object = match value {
        None | Some(Value::Null) => return Ok(PatientIdSystems::default()),
        Some(Value::Object(object)) => object,
        Some(_) => return Err(ConfigError::WrongType { key: KEY.into(), expected: "an object of authority → system URI" }),
    };
    // An entry that is not a string, or not an absolute URI (`PatientIdSystems` checks), is
    // named by its authority.
    let bad =
        |authority: &str| ConfigError::WrongType { key: format!("{KEY}.{authority}"), expected: "an absolute URI (e.g. urn:oid:1.2.3)" };
    let map = object
        .iter()
        .map(|(authority, system)| system.as_str().map(|s| (authority.clone(), s.to_string())).ok_or_else(|| bad(authority)))
        .collect::<Result<BTreeMap<_, _>, _>>()?;
    PatientIdSystems::try_from(map).map_err(|e| match e {
        super::IdentifierError::InvalidSystem(authority) => bad(&authority),
        other => bad(&other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Url {
        Url::parse("https://viewer.example/imaging/viewer/config.json").unwrap()
    }

    fn parse(text: &str) -> Result<ViewerConfig, ConfigError> {
        ViewerConfig::parse(text, &site())
    }

    #[test]
    fn the_token_responses_fhircast_session_wins_over_the_sites() {
        let site = parse(r#"{"fhirBaseUrl": "/fhir", "fhircast": {"hubUrl": "/hub", "topic": "site"}}"#).unwrap();
        let bare = parse(r#"{"fhirBaseUrl": "/fhir"}"#).unwrap();
        let ehr = site.fhircast_session(Some("https://hub.example/fhircast"), Some("t-1")).unwrap();
        assert_eq!((ehr.hub_url.as_str(), ehr.topic.as_str()), ("https://hub.example/fhircast", "t-1"));
        // A topic alone keeps the site's hub; nothing from the EHR keeps the site's session.
        let topic_only = site.fhircast_session(None, Some("t-2")).unwrap();
        assert_eq!((topic_only.hub_url.as_str(), topic_only.topic.as_str()), ("https://viewer.example/hub", "t-2"));
        assert_eq!(site.fhircast_session(None, None), site.fhircast);
        // A hub that is no http(s) address, or a blank topic, is not taken.
        assert_eq!(site.fhircast_session(Some("javascript:alert(1)"), Some("t-3")).unwrap().hub_url.as_str(), "https://viewer.example/hub");
        assert_eq!(site.fhircast_session(Some("https://hub.example/"), Some("  ")), site.fhircast);
        assert_eq!(bare.fhircast_session(None, Some("t-4")), None);
        assert_eq!(bare.fhircast_session(Some("https://hub.example/"), Some("t-4")).map(|s| s.topic), Some("t-4".into()));
    }

    #[test]
    fn a_fhircast_hub_and_topic() {
        let c = parse(r#"{"fhirBaseUrl": "/fhir", "fhircast": {"hubUrl": "../hub", "topic": "t1"}}"#).unwrap();
        let cast = c.fhircast.unwrap();
        assert_eq!((cast.hub_url.as_str(), cast.topic.as_str()), ("https://viewer.example/imaging/hub", "t1"));
        assert!(matches!(parse(r#"{"fhirBaseUrl": "/fhir", "fhircast": {"hubUrl": "/h"}}"#), Err(ConfigError::WrongType { .. })));
        assert!(matches!(
            parse(r#"{"fhirBaseUrl": "/fhir", "fhircast": {"hubUrl": "/h", "topic": "t", "token": "x"}}"#),
            Err(ConfigError::Unknown(_))
        ));
        assert_eq!(parse(r#"{"fhirBaseUrl": "/fhir"}"#).unwrap().fhircast, None);
    }

    #[test]
    fn a_full_config_resolves_relative_addresses_against_its_own() {
        let config = parse(
            r#"{
              "fhirBaseUrl": "../fhir",
              "dicomwebBaseUrl": "https://pacs.example/dicom-web",
              "allowedOrigins": ["https://wado.example"],
              "parentOrigins": ["https://emr.example:8443", "http://127.0.0.1:9000/"],
              "iid": { "patientIdSystems": { "AcmeHospital": "urn:oid:1.2.3.4" } },
              "externalIidViewer": "https://diag.example/IHEInvokeImageDisplay"
            }"#,
        )
        .unwrap();
        assert_eq!(config.fhir_base.as_str(), "https://viewer.example/imaging/fhir");
        assert_eq!(config.parent_origins, ["https://emr.example:8443", "http://127.0.0.1:9000"]);
        assert!(config.accepts_messages_from("https://emr.example:8443"));
        assert!(!config.accepts_messages_from("https://emr.example"), "another port is another origin");
        assert_eq!(config.token_origins(), ["https://pacs.example", "https://wado.example"]);
        assert_eq!(
            config.patient_id_systems,
            PatientIdSystems::try_from(BTreeMap::from([("AcmeHospital".to_string(), "urn:oid:1.2.3.4".to_string())])).unwrap()
        );
    }

    #[test]
    fn every_broken_config_names_its_setting() {
        let cases: &[(&str, ConfigError)] = &[
            ("", ConfigError::NotJson("EOF while parsing a value at line 1 column 0".into())),
            ("[]", ConfigError::NotAnObject),
            ("{}", ConfigError::Missing("fhirBaseUrl")),
            (r#"{"fhirBaseURL": "/fhir"}"#, ConfigError::Unknown("fhirBaseURL".into())),
            (
                r#"{"fhirBaseUrl": 5}"#,
                ConfigError::WrongType { key: "fhirBaseUrl".into(), expected: "a non-empty string (an http or https address)" },
            ),
            (
                r#"{"fhirBaseUrl": "/fhir", "parentOrigins": "https://emr.example"}"#,
                ConfigError::WrongType { key: "parentOrigins".into(), expected: "an array of origins" },
            ),
            (
                r#"{"fhirBaseUrl": "/fhir", "parentOrigins": ["*"]}"#,
                ConfigError::BadOrigin { key: "parentOrigins".into(), value: "*".into() },
            ),
            (
                r#"{"fhirBaseUrl": "/fhir", "allowedOrigins": ["https://a.example/path"]}"#,
                ConfigError::BadOrigin { key: "allowedOrigins".into(), value: "https://a.example/path".into() },
            ),
            (r#"{"fhirBaseUrl": "/fhir", "iid": {"systems": {}}}"#, ConfigError::Unknown("iid.systems".into())),
            (
                r#"{"fhirBaseUrl": "/fhir", "iid": {"patientIdSystems": {"A": "not a uri"}}}"#,
                ConfigError::WrongType { key: "iid.patientIdSystems.A".into(), expected: "an absolute URI (e.g. urn:oid:1.2.3)" },
            ),
        ];
        for (text, want) in cases {
            assert_eq!(&parse(text).unwrap_err(), want, "{text}");
        }
        for bad in ["javascript:alert(1)", "data:text/plain,x", "https://user:pw@fhir.example/"] {
            let err = parse(&format!(r#"{{"fhirBaseUrl": {bad:?}}}"#)).unwrap_err();
            assert!(matches!(err, ConfigError::BadAddress { ref key, .. } if key == "fhirBaseUrl"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_smart_section_is_checked_whole() {
        let config = parse(
            r#"{"fhirBaseUrl": "https://ehr.example/fhir", "smart": {"clientId": "c", "allowedIssuers": ["https://ehr.example/fhir"]}}"#,
        )
        .unwrap();
        let smart = config.smart.unwrap();
        assert_eq!(smart.client_id, "c");
        assert_eq!(smart.redirect_uri.as_str(), "https://viewer.example/imaging/viewer/index.html");
        let err = parse(
            r#"{"fhirBaseUrl": "https://ehr.example/fhir", "smart": {"clientId": "c", "allowedIssuers": ["https://other.example/fhir"]}}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("must be one of smart.allowedIssuers"), "{err}");
        let err = parse(r#"{"fhirBaseUrl": "/fhir", "smart": {"clientID": "c"}}"#).unwrap_err();
        assert!(err.to_string().contains("unknown setting smart.clientID"), "{err}");
        assert_eq!(parse(r#"{"fhirBaseUrl": "/fhir"}"#).unwrap().smart, None);
    }

    #[test]
    fn origins_are_exact() {
        assert_eq!(origin("https://emr.example").as_deref(), Some("https://emr.example"));
        assert_eq!(origin("https://emr.example/").as_deref(), Some("https://emr.example"));
        assert_eq!(origin("https://EMR.example:443").as_deref(), None, "written other than it is serialised");
        for bad in [
            "*",
            "null",
            "emr.example",
            "https://emr.example/x",
            "https://emr.example?x",
            "https://u@emr.example",
            "file:///x",
            "https://emr.example//",
        ] {
            assert_eq!(origin(bad), None, "{bad}");
        }
    }
}
