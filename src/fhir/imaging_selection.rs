//! FHIR R5 ImagingSelection as key images: the same selection a DICOM Key Object Selection
//! gives ([`KeySelection`]), read from the resource's `studyUid` (else a `derivedFrom`
//! identifier), `seriesUid` and `instance[].uid`. R4 has no ImagingSelection (R4 servers answer
//! its search with an error, which the caller tolerates); no R4 extension for it is in use.
//!
//! The subject is returned for the patient check, which is the caller's: a selection about
//! another patient must never mark this patient's images.

use crate::imaging::key_objects::{KeyImage, KeySelection};
use crate::launch::iid::is_valid_uid;
use serde_json::Value;
use thiserror::Error;

/// DCM codes of rejection notes (IHE IOCM): a selection so titled withdraws its images.
const REJECTION_CODES: [&str; 4] = ["113001", "113037", "113038", "113039"];

/// More instances than this in one selection are not key images anyone chose.
const MAX_INSTANCES: usize = 10_000;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum SelectionError {
    #[error("expected a FHIR ImagingSelection but got {0:?}")]
    NotImagingSelection(String),
    #[error("ImagingSelection {0:?} is entered in error")]
    EnteredInError(String),
    #[error("ImagingSelection {0:?} names no DICOM Study Instance UID")]
    NoStudyUid(String),
    #[error("ImagingSelection {0:?} names no DICOM Series Instance UID")]
    NoSeriesUid(String),
    /// Without instances a selection means its whole series: not a set of key images.
    #[error("ImagingSelection {0:?} selects a whole series, not images")]
    WholeSeries(String),
    #[error("ImagingSelection {id:?} has an invalid UID {uid:?}")]
    InvalidUid { id: String, uid: String },
}

/// Who the selection is about, as the resource says it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Subject {
    /// A literal reference, e.g. `Patient/123`.
    pub reference: Option<String>,
    /// A logical reference: (system, value).
    pub identifier: Option<(Option<String>, String)>,
}

impl Subject {
    /// Whether it names FHIR patient `id`, or one of the patient's identifiers (system, value;
    /// where either side has no system, the value decides).
    pub fn names(&self, id: &str, identifiers: &[(Option<String>, String)]) -> bool {
        let by_reference = self.reference.as_deref().is_some_and(|r| {
            let r = r.split('/').collect::<Vec<_>>();
            matches!(r.as_slice(), [.., "Patient", rid] if *rid == id)
        });
        let by_identifier = self
            .identifier
            .as_ref()
            .is_some_and(|(system, value)| identifiers.iter().any(|(s, v)| v == value && (system.is_none() || s.is_none() || s == system)));
        by_reference || by_identifier
    }
}

/// An ImagingSelection read as key images.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectionKeys {
    pub id: String,
    pub subject: Subject,
    pub selection: KeySelection,
}

fn uid_of(value: &str) -> &str {
    value.strip_prefix("urn:oid:").unwrap_or(value)
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// Reads one ImagingSelection resource.
pub fn read_imaging_selection(resource: &Value) -> Result<SelectionKeys, SelectionError> {
    let kind = resource.get("resourceType").and_then(Value::as_str).unwrap_or_default();
    if kind != "ImagingSelection" {
        return Err(SelectionError::NotImagingSelection(kind.to_string()));
    }
    let id = text(resource, "id").unwrap_or_default();
    if resource.get("status").and_then(Value::as_str) == Some("entered-in-error") {
        return Err(SelectionError::EnteredInError(id));
    }
    let checked = |uid: &str| -> Result<String, SelectionError> {
        let uid = uid_of(uid);
        if is_valid_uid(uid) {
            Ok(uid.to_string())
        } else {
            Err(SelectionError::InvalidUid { id: id.clone(), uid: uid.chars().take(80).collect() })
        }
    };
    // `studyUid`, else the first DICOM study identifier among `derivedFrom`.
    let derived = || {
        resource.get("derivedFrom")?.as_array()?.iter().find_map(|r| {
            let identifier = r.get("identifier")?;
            (identifier.get("system").and_then(Value::as_str) == Some("urn:dicom:uid")).then(|| text(identifier, "value")).flatten()
        })
    };
    let study_uid = checked(&text(resource, "studyUid").or_else(derived).ok_or_else(|| SelectionError::NoStudyUid(id.clone()))?)?;
    let series_uid = checked(&text(resource, "seriesUid").ok_or_else(|| SelectionError::NoSeriesUid(id.clone()))?)?;
    let instances = resource.get("instance").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    if instances.is_empty() {
        return Err(SelectionError::WholeSeries(id));
    }
    let mut images: Vec<KeyImage> = Vec::new();
    for instance in instances.iter().take(MAX_INSTANCES) {
        let Some(uid) = text(instance, "uid") else { continue };
        let image = KeyImage { study_uid: study_uid.clone(), series_uid: series_uid.clone(), sop_instance_uid: checked(&uid)? };
        if !images.contains(&image) {
            images.push(image);
        }
    }
    let code = resource.get("code");
    let codings = code.and_then(|c| c.get("coding")).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let rejection = codings.iter().any(|c| {
        let system = c.get("system").and_then(Value::as_str).unwrap_or_default();
        let dcm = system == "http://dicom.nema.org/resources/ontology/DCM" || system == "DCM";
        dcm && c.get("code").and_then(Value::as_str).is_some_and(|v| REJECTION_CODES.contains(&v))
    });
    let title = code.and_then(|c| text(c, "text")).or_else(|| codings.iter().find_map(|c| text(c, "display")));
    let subject = resource.get("subject").map_or_else(Subject::default, |s| Subject {
        reference: text(s, "reference"),
        identifier: s.get("identifier").and_then(|i| Some((text(i, "system"), text(i, "value")?))),
    });
    Ok(SelectionKeys { id, subject, selection: KeySelection { title, rejection, images } })
}

#[cfg(test)]
mod tests;
