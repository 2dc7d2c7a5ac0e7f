//! An IID request as what the session opens: the site's settings say which FHIR identifier
//! system a CX assigning authority stands for.

use super::{IidRequest, PatientCx, ViewerConfig};
use crate::fhir::StudyFilter;
use crate::session::Target;
use thiserror::Error;

/// Why a well-formed request cannot be opened at this site.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PlanError {
    #[error("patientID has no assigning authority (id^^^authority), so the patient cannot be identified safely")]
    NoAuthority,
    #[error("the assigning authority {0:?} of patientID is not configured (config.json, iid.patientIdSystems)")]
    UnknownAuthority(String),
}

/// What to open for `request`.
pub fn target(request: &IidRequest, config: &ViewerConfig) -> Result<Target, PlanError> {
    Ok(match request {
        IidRequest::Study { study_uids, .. } if !study_uids.is_empty() => {
            Target::Studies { uids: study_uids.clone(), patient: None }
        }
        IidRequest::Study { accession_numbers, .. } => Target::Accessions { numbers: accession_numbers.clone(), patient: None },
        IidRequest::Patient { patient_id, filters, .. } => Target::PatientByIdentifier {
            identifier: identifier(patient_id, config)?,
            filter: StudyFilter {
                started_from: filters.lower_date_time.clone(),
                started_to: filters.upper_date_time.clone(),
                modality: filters.modalities_in_study.clone(),
                ..StudyFilter::default()
            },
            most_recent: filters.most_recent_results,
        },
    })
}

/// `system|value` for a CX: the authority as written, or its HD universal id (`&1.2.3&ISO`),
/// looked up in `iid.patientIdSystems`. An unmapped authority is refused, never guessed: a
/// wrong system could name another person.
fn identifier(cx: &PatientCx, config: &ViewerConfig) -> Result<String, PlanError> {
    let authority = cx.assigning_authority.as_deref().ok_or(PlanError::NoAuthority)?;
    let universal = authority.split('&').nth(1).filter(|u| !u.is_empty());
    let system = config
        .patient_id_systems
        .get(authority)
        .or_else(|| universal.and_then(|u| config.patient_id_systems.get(u)))
        .or_else(|| authority.split('&').next().filter(|n| !n.is_empty()).and_then(|n| config.patient_id_systems.get(n)))
        .ok_or_else(|| PlanError::UnknownAuthority(authority.to_string()))?;
    Ok(format!("{system}|{}", cx.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ViewerConfig {
        ViewerConfig::parse(
            r#"{"fhirBaseUrl": "https://ehr.example/fhir", "iid": {"patientIdSystems": {"Acme": "urn:oid:1.2.3", "2.16.840.1": "urn:oid:2.16.840.1"}}}"#,
            &url::Url::parse("https://viewer.example/viewer/config.json").unwrap(),
        )
        .unwrap()
    }

    fn plan(query: &str) -> Result<Target, PlanError> {
        target(&IidRequest::parse_query(query).unwrap(), &config())
    }

    #[test]
    fn study_requests_open_studies_or_accessions() {
        assert_eq!(plan("requestType=STUDY&studyUID=1.2,1.3").unwrap(), Target::Studies { uids: vec!["1.2".into(), "1.3".into()], patient: None });
        assert_eq!(plan("requestType=STUDY&accessionNumber=A1").unwrap(), Target::Accessions { numbers: vec!["A1".into()], patient: None });
    }

    #[test]
    fn a_patient_request_maps_its_authority_and_keeps_the_filters() {
        let Target::PatientByIdentifier { identifier, filter, most_recent } = plan(
            "requestType=PATIENT&patientID=99%5E%5E%5EAcme&lowerDateTime=2020-01-01T00:00:00Z&modalitiesInStudy=CT,MR&mostRecentResults=2",
        )
        .unwrap() else {
            panic!("not a patient target")
        };
        assert_eq!(identifier, "urn:oid:1.2.3|99");
        assert_eq!(filter.started_from.as_deref(), Some("2020-01-01T00:00:00Z"));
        assert_eq!(filter.modality, ["CT", "MR"]);
        assert_eq!(most_recent, Some(2));
        let Target::PatientByIdentifier { identifier, .. } = plan("requestType=PATIENT&patientID=7%5E%5E%5E%262.16.840.1%26ISO").unwrap() else {
            panic!("not a patient target")
        };
        assert_eq!(identifier, "urn:oid:2.16.840.1|7", "an HD's universal id");
    }

    #[test]
    fn an_unknown_or_missing_authority_is_refused() {
        assert_eq!(plan("requestType=PATIENT&patientID=99%5E%5E%5EOther"), Err(PlanError::UnknownAuthority("Other".into())));
        assert_eq!(plan("requestType=PATIENT&patientID=99"), Err(PlanError::NoAuthority));
    }
}
