//! The token endpoint's answer: the tokens (kept in memory only, never printed) and the launch
//! context that says whom and what to open.

use super::SmartError;
use crate::launch::iid::is_valid_uid;
use serde_json::Value;

/// What the token endpoint granted. `Debug` shows no token.
#[derive(Clone, PartialEq)]
pub struct Grant {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    /// Seconds the access token lives, from the answer's arrival.
    pub expires_in: Option<u64>,
    pub scope: String,
    pub context: LaunchContext,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

/// The launch context of the token response (SMART v2 §launch context).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LaunchContext {
    /// The FHIR id of the patient to load.
    pub patient: Option<String>,
    pub encounter: Option<String>,
    /// The ImagingStudy `fhirContext` names, to open first.
    pub study: Option<StudyRef>,
    /// `false` only when the EHR shows its own banner: ours is hidden then, and only then.
    pub need_patient_banner: bool,
    /// FHIRcast: kept for the hub subscription.
    pub hub_url: Option<String>,
    pub hub_topic: Option<String>,
}

impl LaunchContext {
    /// What the launch opens: the study `fhirContext` names (confined to the launch patient
    /// when there is one), else the patient's studies.
    pub fn target(&self) -> Result<crate::session::Target, SmartError> {
        use crate::session::Target;
        let patient = self.patient.clone();
        Ok(match (&self.study, patient) {
            (Some(StudyRef::Uid(uid)), patient) => Target::Studies { uids: vec![uid.clone()], patient },
            (Some(StudyRef::Id(id)), patient) => Target::StudyIds { ids: vec![id.clone()], patient },
            (None, Some(id)) => Target::Patient { id },
            (None, None) => return Err(SmartError::NoPatient),
        })
    }
}

/// An ImagingStudy named in `fhirContext`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StudyRef {
    /// `identifier` `{system: urn:dicom:uid, value: urn:oid:<uid>}`: the Study Instance UID.
    Uid(String),
    /// `reference` `ImagingStudy/<id>`: the FHIR id.
    Id(String),
}

impl Grant {
    /// Parses the body of a successful token response. A refresh answer may leave out the
    /// context; `scope` may be left out only when the request's scope was granted as asked
    /// (RFC 6749 §5.1), so the caller passes what was asked as `asked_scope`.
    pub fn parse(text: &str, asked_scope: &str) -> Result<Grant, SmartError> {
        let json: Value = serde_json::from_str(text).map_err(|_| SmartError::TokenResponse("not JSON".into()))?;
        let string = |key: &str| json.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
        let access_token = string("access_token").ok_or(SmartError::TokenResponse("no access_token".into()))?;
        if !is_bearer_token(&access_token) {
            return Err(SmartError::TokenResponse("the access_token is not a bearer token".into()));
        }
        match string("token_type") {
            Some(t) if t.eq_ignore_ascii_case("bearer") => {}
            other => return Err(SmartError::TokenResponse(format!("token_type {:?} is not Bearer", other.unwrap_or_default()))),
        }
        let expires_in = match json.get("expires_in") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .ok_or(SmartError::TokenResponse("expires_in is not a number".into()))?,
            ),
        };
        let patient = string("patient");
        if patient.as_deref().is_some_and(|p| !crate::fhir::is_valid_id(p)) {
            return Err(SmartError::TokenResponse("patient is not a FHIR id".into()));
        }
        let context = LaunchContext {
            patient,
            encounter: string("encounter"),
            study: json.get("fhirContext").and_then(Value::as_array).and_then(|items| items.iter().find_map(study_of)),
            need_patient_banner: json.get("need_patient_banner").and_then(Value::as_bool).unwrap_or(true),
            hub_url: string("hub.url"),
            hub_topic: string("hub.topic"),
        };
        Ok(Grant {
            access_token,
            refresh_token: string("refresh_token"),
            id_token: string("id_token"),
            expires_in,
            scope: string("scope").unwrap_or_else(|| asked_scope.to_string()),
            context,
        })
    }
}

/// An ImagingStudy `fhirContext` entry: by reference (`ImagingStudy/1`, or an absolute one
/// ending so) or by its DICOM UID identifier. Other types are for other apps.
fn study_of(item: &Value) -> Option<StudyRef> {
    let typed = item.get("type").and_then(Value::as_str);
    if let Some(reference) = item.get("reference").and_then(Value::as_str) {
        let mut parts = reference.rsplit('/');
        let (id, kind) = (parts.next()?, parts.next()?);
        if kind == "ImagingStudy" && crate::fhir::is_valid_id(id) {
            return Some(StudyRef::Id(id.to_string()));
        }
        return None;
    }
    let identifier = item.get("identifier")?;
    if typed.is_some_and(|t| t != "ImagingStudy") || identifier.get("system").and_then(Value::as_str) != Some("urn:dicom:uid") {
        return None;
    }
    let value = identifier.get("value").and_then(Value::as_str)?;
    let uid = value.strip_prefix("urn:oid:").unwrap_or(value);
    is_valid_uid(uid).then(|| StudyRef::Uid(uid.to_string()))
}

/// RFC 6750 `b64token`: nothing that could end a header.
pub fn is_bearer_token(text: &str) -> bool {
    let body = text.trim_end_matches('=');
    !body.is_empty() && text.len() <= 16 * 1024 && body.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ehr_launch_answer_with_its_context() {
        let grant = Grant::parse(
            r#"{"access_token":"eyJ.a.b","token_type":"bearer","expires_in":60,"scope":"launch patient/ImagingStudy.rs",
                "refresh_token":"r1","id_token":"i.d.t","patient":"p-1","encounter":"e-9","need_patient_banner":false,
                "fhirContext":[{"reference":"Encounter/e-9"},{"type":"ImagingStudy","identifier":{"system":"urn:dicom:uid","value":"urn:oid:1.2.840.99"}}],
                "hub.url":"https://hub.example/fhircast","hub.topic":"t-1"}"#,
            "ignored",
        )
        .unwrap();
        assert_eq!(grant.expires_in, Some(60));
        assert_eq!(grant.refresh_token.as_deref(), Some("r1"));
        assert_eq!(grant.scope, "launch patient/ImagingStudy.rs");
        let c = &grant.context;
        assert_eq!((c.patient.as_deref(), c.encounter.as_deref()), (Some("p-1"), Some("e-9")));
        assert_eq!(c.study, Some(StudyRef::Uid("1.2.840.99".into())));
        assert!(!c.need_patient_banner);
        assert_eq!((c.hub_url.as_deref(), c.hub_topic.as_deref()), (Some("https://hub.example/fhircast"), Some("t-1")));
        let shown = format!("{grant:?}");
        assert!(!shown.contains("eyJ") && !shown.contains("r1") && !shown.contains("i.d.t"), "{shown}");
    }

    #[test]
    fn a_study_by_reference_and_the_defaults() {
        let grant = Grant::parse(
            r#"{"access_token":"t","token_type":"Bearer","patient":"p","fhirContext":[{"reference":"https://ehr.example/fhir/ImagingStudy/s-1"}]}"#,
            "launch/patient patient/*.rs",
        )
        .unwrap();
        assert_eq!(grant.context.study, Some(StudyRef::Id("s-1".into())));
        assert!(grant.context.need_patient_banner, "the banner shows unless the EHR says otherwise");
        assert_eq!(grant.scope, "launch/patient patient/*.rs", "no scope in the answer: granted as asked");
        assert_eq!(grant.expires_in, None);
        let other = Grant::parse(r#"{"access_token":"t","token_type":"Bearer","fhirContext":[{"reference":"DiagnosticReport/1"},{"identifier":{"system":"x","value":"1.2"}}]}"#, "").unwrap();
        assert_eq!(other.context.study, None);
    }

    #[test]
    fn broken_answers_are_refused_without_quoting_tokens() {
        for (text, why) in [
            ("nope", "not JSON"),
            (r#"{"token_type":"Bearer"}"#, "no access_token"),
            (r#"{"access_token":"t","token_type":"mac"}"#, "Bearer"),
            (r#"{"access_token":"t"}"#, "Bearer"),
            (r#"{"access_token":"a b\r\nX: y","token_type":"Bearer"}"#, "bearer token"),
            (r#"{"access_token":"t","token_type":"Bearer","expires_in":"soon"}"#, "expires_in"),
            (r#"{"access_token":"t","token_type":"Bearer","patient":"../x"}"#, "FHIR id"),
        ] {
            let err = Grant::parse(text, "").unwrap_err().to_string();
            assert!(err.contains(why), "{text}: {err}");
            assert!(!err.contains("X: y"));
        }
    }
}
