//! A CD's DICOMDIR (PS3.10 7.3, PS3.3 F.5): the files its directory records name, with the
//! patient and study each belongs to, so a CD is offered study by study before its files are
//! read.

use super::UploadError;
use dicom_parser_lite::{parse, Tag};

const DIRECTORY_RECORD_SEQUENCE: Tag = Tag(0x0004, 0x1220);
const DIRECTORY_RECORD_TYPE: Tag = Tag(0x0004, 0x1430);
const REFERENCED_FILE_ID: Tag = Tag(0x0004, 0x1500);
const REFERENCED_SOP_INSTANCE_UID_IN_FILE: Tag = Tag(0x0004, 0x1511);
const PATIENT_ID: Tag = Tag(0x0010, 0x0020);
const PATIENT_NAME: Tag = Tag(0x0010, 0x0010);
const STUDY_INSTANCE_UID: Tag = Tag(0x0020, 0x000D);

/// One file a DICOMDIR names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryFile {
    /// The path relative to the DICOMDIR, components joined with `/` (`DICOM/ST000/IM0001`).
    pub path: String,
    pub sop_instance_uid: Option<String>,
    pub patient_id: Option<String>,
    pub patient_name: Option<String>,
    pub study_uid: Option<String>,
}

/// The files a DICOMDIR's records reference, in record order. Records follow each other
/// patient, study, series, image: the last patient and study seen are the file's.
pub fn files(bytes: &[u8]) -> Result<Vec<DirectoryFile>, UploadError> {
    let file = parse(bytes).map_err(|e| UploadError::Dicomdir(e.to_string()))?;
    let records = file.dataset().items(DIRECTORY_RECORD_SEQUENCE).ok_or_else(|| UploadError::Dicomdir("no directory records".into()))?;
    let (mut patient_id, mut patient_name, mut study_uid) = (None, None, None);
    let mut out = Vec::new();
    for record in records {
        let kind = record.string(DIRECTORY_RECORD_TYPE).map(|s| s.trim().to_string()).unwrap_or_default();
        match kind.as_str() {
            "PATIENT" => {
                patient_id = record.string(PATIENT_ID).map(|s| s.trim().to_string());
                patient_name = record.string(PATIENT_NAME).map(|s| s.trim().to_string());
                study_uid = None;
            }
            "STUDY" => study_uid = record.string(STUDY_INSTANCE_UID).map(|s| s.trim().to_string()),
            _ => {}
        }
        let parts: Vec<String> =
            record.strings(REFERENCED_FILE_ID).into_iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect();
        // A path that climbs out of the CD is not followed.
        if parts.is_empty() || parts.iter().any(|p| p == ".." || p.contains('/')) {
            continue;
        }
        out.push(DirectoryFile {
            path: parts.join("/"),
            sop_instance_uid: record.string(REFERENCED_SOP_INSTANCE_UID_IN_FILE).map(|s| s.trim_end_matches(['\0', ' ']).to_string()),
            patient_id: patient_id.clone(),
            patient_name: patient_name.clone(),
            study_uid: study_uid.clone(),
        });
    }
    Ok(out)
}
