//! FHIR REST client and a version-tolerant model of what imaging needs.
//!
//! The model keeps the original resource JSON next to normalised fields: hosts get both, and a
//! field we did not normalise is never lost. Parsing is lenient about shape (DSTU2 `uid` vs R4
//! `identifier`, `patient` vs `subject`, Coding vs CodeableConcept) and strict about meaning (a study
//! without a Study Instance UID cannot be shown, so it is reported, not guessed).

mod client;
pub mod imaging_selection;
mod model;
pub mod report;

pub use client::{FhirClient, StudyFilter, StudySearch};
pub use model::{is_valid_id, Endpoint, ImagingStudy, Patient, Reference, Series, SeriesInstance};

use thiserror::Error;

/// FHIR-level failures.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum FhirError {
    #[error(transparent)]
    Net(crate::net::NetError),
    #[error("the FHIR server sent something that is not valid JSON ({0})")]
    InvalidJson(String),
    #[error("expected a FHIR {expected} but got {found:?}")]
    UnexpectedResource { expected: &'static str, found: String },
    #[error("ImagingStudy {id:?} has no DICOM Study Instance UID")]
    MissingStudyUid { id: String },
    #[error("paging stopped after {pages} pages: the server keeps sending `next` links")]
    TooManyPages { pages: usize },
    /// A search's `next` link leaves the FHIR server's origin: what another host answers is not
    /// this server's search result, so it is not followed (unless `allowedOrigins` names it).
    #[error("the FHIR search's next page {url} is on another origin and was not followed (allowedOrigins may name it)")]
    ForeignPage { url: String },
}

/// A FHIR server's error answer explains itself in an OperationOutcome: its text becomes the
/// error's detail (else the body's first line).
impl From<crate::net::NetError> for FhirError {
    fn from(e: crate::net::NetError) -> Self {
        use crate::net::{short_detail, NetError, DETAIL_SHOWN};
        FhirError::Net(match e {
            NetError::Status { url, status, detail } => {
                let explained = detail.map(|text| {
                    serde_json::from_str::<serde_json::Value>(&text)
                        .ok()
                        .and_then(|json| operation_outcome_text(&json))
                        .map(|t| t.chars().take(DETAIL_SHOWN).collect())
                        .unwrap_or_else(|| short_detail(&text))
                });
                NetError::Status { url, status, detail: explained }
            }
            other => other,
        })
    }
}

/// The human-readable text of an OperationOutcome: its issues' diagnostics or details text,
/// joined. `None` if `json` is not an OperationOutcome or says nothing.
pub fn operation_outcome_text(json: &serde_json::Value) -> Option<String> {
    if json.get("resourceType")?.as_str()? != "OperationOutcome" {
        return None;
    }
    let parts: Vec<String> = json
        .get("issue")?
        .as_array()?
        .iter()
        .filter_map(|issue| {
            issue
                .get("diagnostics")
                .and_then(|d| d.as_str())
                .or_else(|| issue.pointer("/details/text").and_then(|t| t.as_str()))
                .map(str::to_string)
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Strips the `urn:oid:` prefix FHIR uses for OIDs; DICOM UIDs are bare.
pub fn bare_uid(value: &str) -> &str {
    let value = value.trim();
    value.strip_prefix("urn:oid:").unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn outcome_text_joins_diagnostics() {
        let oo = json!({"resourceType":"OperationOutcome","issue":[
            {"severity":"error","code":"forbidden","diagnostics":"scope missing"},
            {"severity":"error","code":"x","details":{"text":"second"}}]});
        assert_eq!(operation_outcome_text(&oo).as_deref(), Some("scope missing; second"));
        assert_eq!(operation_outcome_text(&json!({"resourceType":"Patient"})), None);
    }

    #[test]
    fn uid_prefix_is_stripped() {
        assert_eq!(bare_uid("urn:oid:1.2.3"), "1.2.3");
        assert_eq!(bare_uid(" 1.2.3 "), "1.2.3");
    }
}
