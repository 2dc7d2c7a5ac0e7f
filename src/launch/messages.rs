//! The postMessage protocol between the hosted viewer and the window that embeds it
//! (DESIGN.md §3b): JSON objects with a `type`. What the host sends is checked here before
//! anything acts on it; where it comes from is checked by [`super::ViewerConfig`].

use crate::wire::wire_enum;
use serde_json::Value;
use thiserror::Error;

wire_enum! {
    /// `type` of a message, either way.
    pub enum MessageType {
        /// Viewer → each `parentOrigins` entry, once at start.
        Ready = "emr-imaging:ready",
        /// Host → viewer: `{ token }`, at any time.
        Token = "emr-imaging:token",
        /// Host → viewer: `{ patient?, studyUid?, accessionNumber? }`.
        Open = "emr-imaging:open",
        /// Host → viewer: forget the patient.
        Close = "emr-imaging:close",
        /// Viewer → host: `{ detail }` as the widget's DOM events.
        StudyOpen = "emr-imaging:study-open",
        ImageDisplayed = "emr-imaging:image-displayed",
        Error = "emr-imaging:error",
        /// Viewer → host: a server refused the token; answer with `emr-imaging:token`.
        TokenRequest = "emr-imaging:token-request",
    }
}

/// A message the host may send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostMessage {
    Token(String),
    Open(OpenRequest),
    Close,
}

/// What `emr-imaging:open` asks for: a patient (FHIR id), a study, or both.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpenRequest {
    pub patient: Option<String>,
    pub study_uid: Option<String>,
    pub accession_number: Option<String>,
}

/// Why a message was ignored. Never shown with the message's content (it may hold a token).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MessageError {
    #[error("not an object with a string `type`")]
    Untyped,
    #[error("type {0:?} is not one the viewer accepts")]
    UnknownType(String),
    #[error("field {field} {rule}")]
    BadField { field: &'static str, rule: &'static str },
}

/// Longest token accepted: JWTs of real EHRs stay far below this.
const MAX_TOKEN: usize = 16 * 1024;

impl HostMessage {
    /// `value` as a host message, or why it is not one.
    pub fn parse(value: &Value) -> Result<HostMessage, MessageError> {
        let kind = value.get("type").and_then(Value::as_str).ok_or(MessageError::Untyped)?;
        match MessageType::parse(kind) {
            Some(MessageType::Token) => token(value.get("token")).map(HostMessage::Token),
            Some(MessageType::Open) => open(value).map(HostMessage::Open),
            Some(MessageType::Close) => Ok(HostMessage::Close),
            _ => Err(MessageError::UnknownType(kind.chars().take(64).collect())),
        }
    }
}

/// A bearer token as RFC 6750 spells it (`b64token`): nothing that could end a header.
fn token(value: Option<&Value>) -> Result<String, MessageError> {
    let bad = |rule| MessageError::BadField { field: "token", rule };
    let text = value.and_then(Value::as_str).ok_or(bad("must be a string"))?;
    if text.is_empty() || text.len() > MAX_TOKEN {
        return Err(bad("must hold 1 to 16384 characters"));
    }
    let body = text.trim_end_matches('=');
    if !body.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)) || body.is_empty() {
        return Err(bad("must be a bearer token (letters, digits and -._~+/ then =)"));
    }
    Ok(text.to_string())
}

fn open(value: &Value) -> Result<OpenRequest, MessageError> {
    let field = |name: &'static str| -> Result<Option<&str>, MessageError> {
        match value.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.as_str())),
            Some(_) => Err(MessageError::BadField { field: name, rule: "must be a non-empty string" }),
        }
    };
    let patient = field("patient")?;
    if patient.is_some_and(|p| !crate::fhir::is_valid_id(p)) {
        return Err(MessageError::BadField { field: "patient", rule: "must be a FHIR id (letters, digits, - and ., at most 64)" });
    }
    let study_uid = field("studyUid")?;
    if study_uid.is_some_and(|u| !super::iid::is_valid_uid(u)) {
        return Err(MessageError::BadField { field: "studyUid", rule: "must be a DICOM UID" });
    }
    let accession_number = field("accessionNumber")?;
    if accession_number.is_some_and(|a| a.chars().count() > 16 || a.contains(['\\', '\n', '\r'])) {
        return Err(MessageError::BadField { field: "accessionNumber", rule: "must be a DICOM accession number (at most 16 characters)" });
    }
    if patient.is_none() && study_uid.is_none() && accession_number.is_none() {
        return Err(MessageError::BadField { field: "patient", rule: "or studyUid or accessionNumber is required" });
    }
    Ok(OpenRequest {
        patient: patient.map(str::to_string),
        study_uid: study_uid.map(str::to_string),
        accession_number: accession_number.map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_three_host_messages() {
        assert_eq!(
            HostMessage::parse(&json!({"type": "emr-imaging:token", "token": "eyJ.a-b_c.d=="})),
            Ok(HostMessage::Token("eyJ.a-b_c.d==".into()))
        );
        assert_eq!(
            HostMessage::parse(&json!({"type": "emr-imaging:open", "patient": "p-1", "studyUid": "1.2.3", "extra": true})),
            Ok(HostMessage::Open(OpenRequest { patient: Some("p-1".into()), study_uid: Some("1.2.3".into()), accession_number: None }))
        );
        assert_eq!(HostMessage::parse(&json!({"type": "emr-imaging:close"})), Ok(HostMessage::Close));
    }

    #[test]
    fn anything_else_is_refused_with_a_reason_that_holds_no_content() {
        let cases = [
            json!("emr-imaging:close"),
            json!({"kind": "emr-imaging:close"}),
            json!({"type": 5}),
            json!({"type": "emr-imaging:ready"}),
            json!({"type": "emr-imaging:study-open"}),
            json!({"type": "EMR-IMAGING:CLOSE"}),
            json!({"type": "emr-imaging:token"}),
            json!({"type": "emr-imaging:token", "token": ""}),
            json!({"type": "emr-imaging:token", "token": "abc\r\nX-Evil: 1"}),
            json!({"type": "emr-imaging:token", "token": "a b"}),
            json!({"type": "emr-imaging:token", "token": "x".repeat(MAX_TOKEN + 1)}),
            json!({"type": "emr-imaging:open"}),
            json!({"type": "emr-imaging:open", "patient": ""}),
            json!({"type": "emr-imaging:open", "patient": "../Patient/x"}),
            json!({"type": "emr-imaging:open", "studyUid": "1.02"}),
            json!({"type": "emr-imaging:open", "accessionNumber": 7}),
        ];
        for case in cases {
            let err = HostMessage::parse(&case).unwrap_err();
            assert!(!err.to_string().contains("Evil") && !err.to_string().contains("xxxx"), "{err}");
        }
    }

    #[test]
    fn message_types_round_trip() {
        for t in MessageType::ALL {
            assert_eq!(MessageType::parse(t.as_str()), Some(*t));
            assert!(t.as_str().starts_with("emr-imaging:"));
        }
    }
}
