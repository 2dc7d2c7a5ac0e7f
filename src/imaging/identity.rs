//! The identity check: an image is shown only if its header names the patient in context.

use super::ImageHeader;
use crate::fhir::Patient;
use thiserror::Error;

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

/// Letters and digits only, upper-cased: `Doe^Jane^^^` and `DOE` compare on what matters.
fn normalise(name: &str) -> String {
    name.chars().filter(|c| c.is_alphanumeric()).map(crate::text::upper).collect()
}

/// The header's Patient ID must equal one of the FHIR patient's identifier values, and when both
/// carry a family name they must agree. A wrong image is worse than no image.
pub fn check_patient(header: &ImageHeader, patient: &Patient) -> Result<(), IdentityMismatch> {
    let id = header.patient_id.as_deref().map(str::trim).filter(|s| !s.is_empty()).ok_or(IdentityMismatch::MissingPatientId)?;
    if !patient.identifiers.iter().any(|value| value.trim() == id) {
        return Err(IdentityMismatch::PatientId { header: id.to_string() });
    }
    if let (Some(header_name), Some(family)) = (&header.patient_name, &patient.family) {
        let header_family = header_name.split('^').next().unwrap_or_default();
        if !header_family.trim().is_empty() && normalise(header_family) != normalise(family) {
            return Err(IdentityMismatch::PatientName { header: header_name.clone(), fhir: patient.display_name() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patient() -> Patient {
        Patient {
            id: "p".into(),
            identifiers: vec!["MRN-1".into(), "SSN-9".into()],
            family: Some("O'Brien".into()),
            given: vec!["Ann".into()],
            birth_date: None,
            gender: None,
        }
    }

    fn header(id: Option<&str>, name: Option<&str>) -> ImageHeader {
        ImageHeader { patient_id: id.map(Into::into), patient_name: name.map(Into::into), ..Default::default() }
    }

    #[test]
    fn matching_id_and_name_pass() {
        assert_eq!(check_patient(&header(Some("MRN-1"), Some("OBRIEN^ANN")), &patient()), Ok(()));
        assert_eq!(check_patient(&header(Some(" SSN-9 "), None), &patient()), Ok(()));
    }

    #[test]
    fn mismatches_block() {
        assert_eq!(check_patient(&header(None, None), &patient()), Err(IdentityMismatch::MissingPatientId));
        assert!(matches!(check_patient(&header(Some("MRN-2"), None), &patient()), Err(IdentityMismatch::PatientId { .. })));
        assert!(matches!(check_patient(&header(Some("MRN-1"), Some("SMITH^ANN")), &patient()), Err(IdentityMismatch::PatientName { .. })));
        // A prefix of an identifier is not the identifier.
        assert!(check_patient(&header(Some("MRN"), None), &patient()).is_err());
    }
}
