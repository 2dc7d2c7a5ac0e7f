//! An IID request as what the session opens: the site's settings say which FHIR identifier
//! system a CX assigning authority stands for.

use super::{IdentifierError, IidRequest, StudyKey, ViewerConfig};
use crate::fhir::StudyFilter;
use crate::session::Target;

/// What to open for `request`. An authority the site did not map is refused, never guessed: a
/// wrong system could name another person.
pub fn target(request: &IidRequest, config: &ViewerConfig) -> Result<Target, IdentifierError> {
    Ok(match request {
        IidRequest::Study { key: StudyKey::StudyUids(uids), .. } => Target::Studies { uids: uids.clone(), patient: None },
        IidRequest::Study { key: StudyKey::AccessionNumbers(numbers), .. } => {
            Target::Accessions { numbers: numbers.clone(), patient: None }
        }
        IidRequest::Patient { patient, filters, .. } => Target::PatientByIdentifier {
            identifier: patient.id.fhir_identifier(&config.patient_id_systems)?.search_token(),
            filter: StudyFilter {
                started_from: filters.lower_date_time.as_ref().map(ToString::to_string),
                started_to: filters.upper_date_time.as_ref().map(ToString::to_string),
                modality: filters.modalities_in_study.clone(),
                ..StudyFilter::default()
            },
            most_recent: filters.most_recent_results.map(|n| n.get()),
        },
    })
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

    fn plan(query: &str) -> Result<Target, IdentifierError> {
        target(&IidRequest::parse_query(query).unwrap(), &config())
    }

    #[test]
    fn study_requests_open_studies_or_accessions() {
        assert_eq!(
            plan("requestType=STUDY&studyUID=1.2,1.3").unwrap(),
            Target::Studies { uids: vec!["1.2".into(), "1.3".into()], patient: None }
        );
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
        let Target::PatientByIdentifier { identifier, .. } = plan("requestType=PATIENT&patientID=7%5E%5E%5E%262.16.840.1%26ISO").unwrap()
        else {
            panic!("not a patient target")
        };
        assert_eq!(identifier, "urn:oid:2.16.840.1|7", "an HD's universal id");
    }

    #[test]
    fn an_unknown_or_missing_authority_is_refused() {
        assert_eq!(plan("requestType=PATIENT&patientID=99%5E%5E%5EOther"), Err(IdentifierError::UnknownAuthority("Other".into())));
        assert_eq!(plan("requestType=PATIENT&patientID=99"), Err(IdentifierError::NoAuthority));
    }
}
