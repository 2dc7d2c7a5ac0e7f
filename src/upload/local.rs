//! A dropped file, parsed here before anything is sent: what it is, whose it is, and whether
//! it may go to the PACS for the patient in context.

use super::UploadError;
use crate::imaging::{check_header, IdentityMismatch, ImageHeader, PatientContext};
use dicom_parser_lite::{tags, DicomBuffer};

/// Bytes of one file the parser may inflate a deflated data set to.
const INFLATE_LIMIT: usize = 1 << 30;

/// The facts of a Part 10 file an upload needs.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalFile {
    /// The name the user dropped (or its DICOMDIR path).
    pub name: String,
    pub patient_id: Option<String>,
    pub patient_name: Option<String>,
    pub study_uid: String,
    pub series_uid: Option<String>,
    pub sop_instance_uid: String,
    pub sop_class_uid: Option<String>,
    pub accession: Option<String>,
    pub study_description: Option<String>,
    pub modality: Option<String>,
    pub size: usize,
}

/// Why a file is not sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// Another patient's (or no patient's): shown with the reason, never sent.
    OtherPatient(IdentityMismatch),
    Unreadable(UploadError),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::OtherPatient(m) => write!(f, "not this patient's: {m}"),
            Refusal::Unreadable(e) => e.fmt(f),
        }
    }
}

impl LocalFile {
    /// Parses `bytes` (a whole Part 10 file) without decoding its pixels.
    pub fn read(name: &str, bytes: &[u8]) -> Result<LocalFile, UploadError> {
        let buffer = DicomBuffer::with_limit(bytes, INFLATE_LIMIT);
        let file = buffer.parse().map_err(|e| UploadError::NotDicom { name: name.to_string(), reason: e.to_string() })?;
        let ds = file.dataset();
        let meta = file.meta();
        let text = |tag| ds.string(tag).map(|s| s.trim().to_string()).filter(|s: &String| !s.is_empty());
        let sop_instance_uid = text(tags::SOP_INSTANCE_UID)
            .or_else(|| meta.string(tags::MEDIA_STORAGE_SOP_INSTANCE_UID).map(|s| s.trim().to_string()))
            .filter(|s| !s.is_empty())
            .ok_or(UploadError::Missing { name: name.to_string(), what: "a SOP Instance UID" })?;
        let study_uid =
            text(tags::STUDY_INSTANCE_UID).ok_or(UploadError::Missing { name: name.to_string(), what: "a Study Instance UID" })?;
        Ok(LocalFile {
            name: name.to_string(),
            patient_id: text(tags::PATIENT_ID),
            patient_name: text(tags::PATIENT_NAME),
            study_uid,
            series_uid: text(tags::SERIES_INSTANCE_UID),
            sop_instance_uid,
            sop_class_uid: text(tags::SOP_CLASS_UID),
            accession: text(tags::ACCESSION_NUMBER),
            study_description: text(tags::STUDY_DESCRIPTION),
            modality: text(tags::MODALITY),
            size: bytes.len(),
        })
    }

    /// The same rule as for display: the header's Patient ID must be one of the patient's
    /// identifiers and its family name theirs.
    pub fn check(&self, patient: &PatientContext) -> Result<(), IdentityMismatch> {
        let header = ImageHeader { patient_id: self.patient_id.clone(), patient_name: self.patient_name.clone(), ..ImageHeader::default() };
        check_header(&header, patient)
    }

    /// Parses and checks: the file to send, or why not.
    pub fn accept(name: &str, bytes: &[u8], patient: &PatientContext) -> Result<LocalFile, Refusal> {
        let file = LocalFile::read(name, bytes).map_err(Refusal::Unreadable)?;
        file.check(patient).map_err(Refusal::OtherPatient)?;
        Ok(file)
    }
}
