//! Key Object Selection documents (PS3.3 A.35.4, template TID 2010): which images of a study
//! someone marked as key. IID's `keyImagesOnly=true` shows exactly those.
//!
//! The document is checked against the patient in context like an image: a selection made for
//! another patient must not choose what this one's viewer shows.

use super::{check_document, DocumentError, ImagingError, PatientContext};
use dicom_parser_lite::{tags, DataSet};

/// Key Object Selection Document Storage.
pub const KEY_OBJECT_SELECTION_SOP_CLASS: &str = "1.2.840.10008.5.1.4.1.1.88.59";

/// Document titles (CID 7011, scheme DCM) that do not select key images but withdraw images
/// (IHE IOCM rejection notes): such a document must never be read as a selection.
const REJECTION_TITLES: [&str; 4] = [
    "113001", // Rejected for Quality Reasons
    "113037", // Rejected for Patient Safety Reasons
    "113038", // Incorrect Modality Worklist Entry
    "113039", // Data Retention Policy Expired
];

/// One image a selection names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyImage {
    pub study_uid: String,
    pub series_uid: String,
    pub sop_instance_uid: String,
}

/// What a Key Object Selection document says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySelection {
    /// The document title's meaning, e.g. "Of Interest".
    pub title: Option<String>,
    /// Whether the document is a rejection note rather than a selection.
    pub rejection: bool,
    /// The images its content names, in document order, each located by the evidence sequence.
    pub images: Vec<KeyImage>,
}

/// Reads a Key Object Selection instance checked against `patient`.
///
/// The key images are the content tree's IMAGE items; their study and series come from the
/// Current Requested Procedure Evidence Sequence, which must list every instance the content
/// names. An IMAGE item the evidence does not list cannot be located and is left out.
pub fn read_key_objects(bytes: &[u8], patient: &PatientContext) -> Result<KeySelection, DocumentError> {
    let buffer = dicom_parser_lite::DicomBuffer::new(bytes);
    let file = buffer.parse().map_err(ImagingError::from)?;
    let ds = file.dataset();
    check_document(ds, &[KEY_OBJECT_SELECTION_SOP_CLASS], "a Key Object Selection document", patient)?;
    let title_code = ds.items(tags::CONCEPT_NAME_CODE_SEQUENCE).and_then(|items| items.first());
    let code = |tag| title_code.and_then(|item| item.string(tag));
    let rejection = code(tags::CODING_SCHEME_DESIGNATOR).as_deref() == Some("DCM")
        && code(tags::CODE_VALUE).is_some_and(|value| REJECTION_TITLES.contains(&value.as_str()));
    let evidence = evidence(ds);
    let mut images = Vec::new();
    for uid in content_images(ds) {
        if let Some(found) = evidence.iter().find(|e| e.sop_instance_uid == uid) {
            if !images.contains(found) {
                images.push(found.clone());
            }
        }
    }
    Ok(KeySelection { title: code(tags::CODE_MEANING), rejection, images })
}

/// Every instance of the Current Requested Procedure Evidence Sequence, with its study and series.
fn evidence(ds: &DataSet) -> Vec<KeyImage> {
    let mut out = Vec::new();
    for study in ds.items(tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE).unwrap_or_default() {
        let Some(study_uid) = study.string(tags::STUDY_INSTANCE_UID) else { continue };
        for series in study.items(tags::REFERENCED_SERIES_SEQUENCE).unwrap_or_default() {
            let Some(series_uid) = series.string(tags::SERIES_INSTANCE_UID) else { continue };
            for instance in series.items(tags::REFERENCED_SOP_SEQUENCE).unwrap_or_default() {
                if let Some(sop_instance_uid) = instance.string(tags::REFERENCED_SOP_INSTANCE_UID).filter(|u| !u.is_empty()) {
                    out.push(KeyImage { study_uid: study_uid.clone(), series_uid: series_uid.clone(), sop_instance_uid });
                }
            }
        }
    }
    out
}

/// The SOP Instance UIDs of the root container's IMAGE items (TID 2010 puts them there, as
/// CONTAINS children).
fn content_images(ds: &DataSet) -> Vec<String> {
    let items = ds.items(tags::CONTENT_SEQUENCE).unwrap_or_default();
    items
        .iter()
        .filter(|item| item.string(tags::VALUE_TYPE).as_deref() == Some("IMAGE"))
        .filter_map(|item| item.items(tags::REFERENCED_SOP_SEQUENCE)?.first()?.string(tags::REFERENCED_SOP_INSTANCE_UID))
        .filter(|uid| !uid.is_empty())
        .collect()
}

#[cfg(test)]
pub(crate) mod tests;
