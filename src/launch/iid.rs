//! IHE Invoke Image Display (IID, RAD-106) requests, parsed and validated.
//!
//! Parameter names are case-sensitive camelCase. A STUDY request names exactly one of `studyUID`
//! and `accessionNumber` (each a comma-separated list); a PATIENT request needs `patientID`
//! (HL7 v2 CX, `ID^^^Authority`). IID has no series-level request.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IidRequest {
    Study { study_uids: Vec<String>, accession_numbers: Vec<String>, options: IidOptions },
    Patient { patient_id: PatientCx, options: IidOptions, filters: PatientFilters },
}

/// The optional display parameters common to both request types.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IidOptions {
    pub viewer_type: Option<String>,
    pub diagnostic_quality: Option<bool>,
    pub key_images_only: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatientFilters {
    pub lower_date_time: Option<String>,
    pub upper_date_time: Option<String>,
    pub most_recent_results: Option<u32>,
    pub modalities_in_study: Vec<String>,
}

/// HL7 v2 CX: the ID and, if given, its assigning authority (CX.4, possibly `&OID&ISO`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientCx {
    pub id: String,
    pub assigning_authority: Option<String>,
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum IidError {
    #[error("requestType is missing")]
    MissingRequestType,
    #[error("requestType {0:?} is not supported (PATIENT or STUDY)")]
    UnknownRequestType(String),
    #[error("a STUDY request needs exactly one of studyUID and accessionNumber")]
    StudyKeyNotExactlyOne,
    #[error("a PATIENT request needs patientID")]
    MissingPatientId,
    #[error("parameter {name} has an invalid value {value:?}")]
    InvalidValue { name: &'static str, value: String },
    #[error("invalid DICOM UID {0:?} in studyUID")]
    InvalidUid(String),
}

fn split_list(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_string).collect()
}

fn parse_bool(name: &'static str, value: &str) -> Result<bool, IidError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(IidError::InvalidValue { name, value: value.to_string() }),
    }
}

/// A DICOM UID: digits and dots, no empty or leading-zero components, at most 64 characters.
pub fn is_valid_uid(uid: &str) -> bool {
    uid.len() <= 64
        && !uid.is_empty()
        && uid.split('.').all(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()) && (c == "0" || !c.starts_with('0')))
}

impl PatientCx {
    pub fn parse(value: &str) -> Option<PatientCx> {
        let mut components = value.split('^');
        let id = components.next()?.trim().to_string();
        if id.is_empty() {
            return None;
        }
        let authority = components.nth(2).map(str::trim).filter(|a| !a.is_empty()).map(str::to_string);
        Some(PatientCx { id, assigning_authority: authority })
    }
}

impl IidRequest {
    /// Parses the query string of an `IHEInvokeImageDisplay` URL (without the leading `?`).
    pub fn parse_query(query: &str) -> Result<IidRequest, IidError> {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let options = IidOptions {
            viewer_type: get("viewerType").map(str::to_string),
            diagnostic_quality: get("diagnosticQuality").map(|v| parse_bool("diagnosticQuality", v)).transpose()?,
            key_images_only: get("keyImagesOnly").map(|v| parse_bool("keyImagesOnly", v)).transpose()?,
        };
        match get("requestType") {
            None => Err(IidError::MissingRequestType),
            Some("STUDY") => {
                let study_uids = get("studyUID").map(split_list).unwrap_or_default();
                let accession_numbers = get("accessionNumber").map(split_list).unwrap_or_default();
                if study_uids.is_empty() == accession_numbers.is_empty() {
                    return Err(IidError::StudyKeyNotExactlyOne);
                }
                if let Some(bad) = study_uids.iter().find(|u| !is_valid_uid(u)) {
                    return Err(IidError::InvalidUid(bad.clone()));
                }
                Ok(IidRequest::Study { study_uids, accession_numbers, options })
            }
            Some("PATIENT") => {
                let patient_id = get("patientID").and_then(PatientCx::parse).ok_or(IidError::MissingPatientId)?;
                let most_recent_results = get("mostRecentResults")
                    .map(|v| v.parse::<u32>().map_err(|_| IidError::InvalidValue { name: "mostRecentResults", value: v.to_string() }))
                    .transpose()?;
                let filters = PatientFilters {
                    lower_date_time: get("lowerDateTime").map(str::to_string),
                    upper_date_time: get("upperDateTime").map(str::to_string),
                    most_recent_results,
                    modalities_in_study: get("modalitiesInStudy").map(split_list).unwrap_or_default(),
                };
                Ok(IidRequest::Patient { patient_id, options, filters })
            }
            Some(other) => Err(IidError::UnknownRequestType(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn study_request_from_the_hl7_eu_example() {
        let r = IidRequest::parse_query(
            "requestType=STUDY&studyUID=1.2.840.113883.19.110.4,1.2.840.113883.19.110.5&viewerType=IHE_BIR&diagnosticQuality=true",
        )
        .unwrap();
        let IidRequest::Study { study_uids, options, .. } = r else { panic!("not a study request") };
        assert_eq!(study_uids, ["1.2.840.113883.19.110.4", "1.2.840.113883.19.110.5"]);
        assert_eq!(options.viewer_type.as_deref(), Some("IHE_BIR"));
        assert_eq!(options.diagnostic_quality, Some(true));
    }

    #[test]
    fn patient_request_with_encoded_cx() {
        let r = IidRequest::parse_query(
            "requestType=PATIENT&patientID=99998410%5E%5E%5E%261.2.3%26ISO&modalitiesInStudy=MR,XA&mostRecentResults=1",
        )
        .unwrap();
        let IidRequest::Patient { patient_id, filters, .. } = r else { panic!("not a patient request") };
        assert_eq!(patient_id.id, "99998410");
        assert_eq!(patient_id.assigning_authority.as_deref(), Some("&1.2.3&ISO"));
        assert_eq!(filters.modalities_in_study, ["MR", "XA"]);
        assert_eq!(filters.most_recent_results, Some(1));
    }

    #[test]
    fn invalid_requests_are_typed() {
        assert_eq!(IidRequest::parse_query(""), Err(IidError::MissingRequestType));
        assert_eq!(IidRequest::parse_query("requesttype=STUDY&studyUID=1.2"), Err(IidError::MissingRequestType));
        assert_eq!(IidRequest::parse_query("requestType=SERIES"), Err(IidError::UnknownRequestType("SERIES".into())));
        assert_eq!(IidRequest::parse_query("requestType=STUDY"), Err(IidError::StudyKeyNotExactlyOne));
        assert_eq!(IidRequest::parse_query("requestType=STUDY&studyUID=1.2&accessionNumber=A"), Err(IidError::StudyKeyNotExactlyOne));
        assert_eq!(IidRequest::parse_query("requestType=STUDY&studyUID=1.02"), Err(IidError::InvalidUid("1.02".into())));
        assert_eq!(IidRequest::parse_query("requestType=PATIENT&patientID=%5E%5E%5EX"), Err(IidError::MissingPatientId));
        assert!(matches!(
            IidRequest::parse_query("requestType=STUDY&accessionNumber=A&keyImagesOnly=yes"),
            Err(IidError::InvalidValue { .. })
        ));
    }

    #[test]
    fn uid_rules() {
        assert!(is_valid_uid("1.2.840.10008.1.2.1"));
        assert!(is_valid_uid("2.25.0"));
        assert!(!is_valid_uid("1..2") && !is_valid_uid("1.a") && !is_valid_uid(&"1.".repeat(40)));
    }
}
