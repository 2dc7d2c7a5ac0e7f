//! The identity check: an image is shown only if its header names the patient in context.
//!
//! [`VerifiedImage`] is the proof. [`decode_for`], [`decode_frame_for`] and [`verify_frame`] (a
//! frame a decode worker decoded) are the only ways to make one, and the viewport, the stack and the thumbnails accept nothing else, so no path can
//! draw pixels that skipped the check. [`check_header`] answers the same question for a header
//! without pixels (WADO-RS metadata before a server-rendered JPEG).

use super::{DecodedImage, ImageHeader, ImagingError};
use std::sync::Arc;
use thiserror::Error;

/// Who the images must belong to: what the FHIR Patient says about identity, and nothing more
/// (imaging does not depend on FHIR).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatientContext {
    /// The FHIR resource id, to tell contexts apart.
    pub id: String,
    /// Identifier values (MRNs and the like), without systems: DICOM PatientID carries no system.
    pub identifiers: Vec<String>,
    pub family: Option<String>,
    /// How the patient is named in messages (the banner's form).
    pub display_name: String,
}

/// Why a document (an instance without pixels: a Key Object Selection, a structured report, a
/// presentation state) was not read.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum DocumentError {
    #[error(transparent)]
    Imaging(#[from] ImagingError),
    /// Another SOP class than the reader reads (a series may hold several): skipped, not a fault.
    #[error("instance {0} is not {1}")]
    OtherClass(String, &'static str),
    #[error(transparent)]
    WrongPatient(#[from] IdentityMismatch),
}

/// Checks a document's SOP class (one of `classes`, else it is not `what`) and its patient; its
/// SOP Instance UID.
pub fn check_document(
    ds: &dicom_parser_lite::DataSet,
    classes: &[&str],
    what: &'static str,
    patient: &PatientContext,
) -> Result<String, DocumentError> {
    use dicom_parser_lite::tags;
    let sop_instance_uid = ds.string(tags::SOP_INSTANCE_UID).unwrap_or_default();
    if !ds.string(tags::SOP_CLASS_UID).is_some_and(|class| classes.contains(&class.as_str())) {
        return Err(DocumentError::OtherClass(sop_instance_uid, what));
    }
    let header = ImageHeader { patient_id: ds.string(tags::PATIENT_ID), patient_name: ds.string(tags::PATIENT_NAME), ..Default::default() };
    check_header(&header, patient)?;
    Ok(sop_instance_uid)
}

/// Why an image was withheld.
#[derive(Debug, Error, Clone, PartialEq, serde::Serialize)]
pub enum IdentityMismatch {
    #[error("the image has no Patient ID, so it cannot be shown as this patient's")]
    MissingPatientId,
    #[error("the image's Patient ID {header:?} is not an identifier of this patient")]
    PatientId { header: String },
    #[error("the image's patient name {header:?} does not match this patient ({fhir})")]
    PatientName { header: String, fhir: String },
}

/// Why [`decode_for`] gave no image.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum VerifyError {
    #[error(transparent)]
    Imaging(#[from] ImagingError),
    #[error(transparent)]
    Mismatch(#[from] IdentityMismatch),
}

/// A decoded frame proven to be the patient's of [`VerifiedImage::patient`]. Cheap to clone
/// (shared), read-only, and made only by [`decode_for`] and [`decode_frame_for`].
#[derive(Debug, Clone)]
pub struct VerifiedImage {
    image: Arc<DecodedImage>,
    patient: Arc<PatientContext>,
}

impl VerifiedImage {
    /// The patient it was checked against.
    pub fn patient(&self) -> &PatientContext {
        &self.patient
    }

    /// True if it was checked against `context` (same id and the same identity facts).
    pub fn is_for(&self, context: &PatientContext) -> bool {
        *self.patient == *context
    }

    /// The same decoded frame (no copy): a redraw or a second view of one decode.
    pub fn same_pixels(&self, other: &VerifiedImage) -> bool {
        Arc::ptr_eq(&self.image, &other.image)
    }
}

impl std::ops::Deref for VerifiedImage {
    type Target = DecodedImage;
    fn deref(&self) -> &DecodedImage {
        &self.image
    }
}

/// Decodes the first frame of a Part 10 instance and proves it is `patient`'s.
pub fn decode_for(bytes: &[u8], patient: &Arc<PatientContext>) -> Result<VerifiedImage, VerifyError> {
    verify(DecodedImage::decode(bytes)?, patient)
}

/// Decodes frame `index` of a multi-frame instance and proves it is `patient`'s.
pub fn decode_frame_for(bytes: &[u8], index: u32, patient: &Arc<PatientContext>) -> Result<VerifiedImage, VerifyError> {
    verify(DecodedImage::decode_frame(bytes, index)?, patient)
}

/// Frame `index` of an instance, its stored values decoded elsewhere (a decode worker), proven
/// `patient`'s by the same check as [`decode_for`]: the header is read here from the bytes.
pub fn verify_frame(
    bytes: &[u8],
    index: u32,
    frame: dicom_parser_lite::pixel::Frame,
    patient: &Arc<PatientContext>,
) -> Result<VerifiedImage, VerifyError> {
    verify(DecodedImage::from_frame(bytes, index, frame)?, patient)
}

fn verify(image: DecodedImage, patient: &Arc<PatientContext>) -> Result<VerifiedImage, VerifyError> {
    check_header(&image.header, patient)?;
    Ok(VerifiedImage { image: Arc::new(image), patient: patient.clone() })
}

/// Letters and digits only, upper-cased: `Doe^Jane^^^` and `DOE` compare on what matters.
fn normalise(name: &str) -> String {
    name.chars().filter(|c| c.is_alphanumeric()).map(crate::text::upper).collect()
}

/// The header's Patient ID must equal one of the patient's identifier values, and when both
/// carry a family name they must agree. A wrong image is worse than no image.
pub fn check_header(header: &ImageHeader, patient: &PatientContext) -> Result<(), IdentityMismatch> {
    let id = header.patient_id.as_deref().map(str::trim).filter(|s| !s.is_empty()).ok_or(IdentityMismatch::MissingPatientId)?;
    if !patient.identifiers.iter().any(|value| value.trim() == id) {
        return Err(IdentityMismatch::PatientId { header: id.to_string() });
    }
    if let (Some(header_name), Some(family)) = (&header.patient_name, &patient.family) {
        let header_family = header_name.split('^').next().unwrap_or_default();
        if !header_family.trim().is_empty() && normalise(header_family) != normalise(family) {
            return Err(IdentityMismatch::PatientName { header: header_name.clone(), fhir: patient.display_name.clone() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patient() -> PatientContext {
        PatientContext {
            id: "p".into(),
            identifiers: vec!["MRN-1".into(), "SSN-9".into()],
            family: Some("O'Brien".into()),
            display_name: "O'BRIEN, Ann".into(),
        }
    }

    fn header(id: Option<&str>, name: Option<&str>) -> ImageHeader {
        ImageHeader { patient_id: id.map(Into::into), patient_name: name.map(Into::into), ..Default::default() }
    }

    #[test]
    fn matching_id_and_name_pass() {
        assert_eq!(check_header(&header(Some("MRN-1"), Some("OBRIEN^ANN")), &patient()), Ok(()));
        assert_eq!(check_header(&header(Some(" SSN-9 "), None), &patient()), Ok(()));
    }

    #[test]
    fn mismatches_block() {
        assert_eq!(check_header(&header(None, None), &patient()), Err(IdentityMismatch::MissingPatientId));
        assert!(matches!(check_header(&header(Some("MRN-2"), None), &patient()), Err(IdentityMismatch::PatientId { .. })));
        assert!(matches!(check_header(&header(Some("MRN-1"), Some("SMITH^ANN")), &patient()), Err(IdentityMismatch::PatientName { .. })));
        // A prefix of an identifier is not the identifier.
        assert!(check_header(&header(Some("MRN"), None), &patient()).is_err());
    }

    #[test]
    fn undecodable_bytes_are_an_imaging_error_not_an_image() {
        let context = Arc::new(patient());
        assert!(matches!(decode_for(b"not dicom", &context), Err(VerifyError::Imaging(_))));
    }
}
