//! A launch as what the session opens: an IID query (the site's settings say which FHIR
//! identifier system a CX assigning authority stands for), or the host's `emr-imaging:open`.

use super::{IdentifierError, IidError, IidRequest, OpenRequest, StudyKey, ViewerConfig};
use crate::fhir::StudyFilter;
use crate::session::Target;
use thiserror::Error;

/// Why an IID launch shows nothing (each is `iid-invalid-request` to the host).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PlanError {
    #[error(transparent)]
    Request(#[from] IidError),
    #[error(transparent)]
    Identifier(#[from] IdentifierError),
}

/// What an IID launch opens, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct IidLaunch {
    pub target: Target,
    /// `keyImagesOnly=true`: only the images the studies' Key Object Selections name.
    pub key_images_only: bool,
}

/// What the IID `query` (the address's, its token already taken out) opens at this site.
/// `diagnosticQuality=true` asks for nothing more: the viewer never shows a lossy rendition
/// of its own making (no server-rendered JPEG, no lossy preview).
pub fn iid_target(query: &str, config: &ViewerConfig) -> Result<IidLaunch, PlanError> {
    let request = IidRequest::parse_query(query)?;
    Ok(IidLaunch { target: target(&request, config)?, key_images_only: request.options().key_images_only == Some(true) })
}

/// What the host's `emr-imaging:open` opens: a study (by UID, else accession) of the named
/// patient if any, else the patient.
pub fn open_target(request: OpenRequest) -> Option<Target> {
    let OpenRequest { patient, study_uid, accession_number } = request;
    match (study_uid, accession_number, patient) {
        (Some(uid), _, patient) => Some(Target::Studies { uids: vec![uid], patient }),
        (None, Some(number), patient) => Some(Target::Accessions { numbers: vec![number], patient }),
        (None, None, patient) => patient.map(|id| Target::Patient { id }),
    }
}

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
    fn an_iid_launch_is_parsed_refused_or_planned_in_one_step() {
        let site = config();
        let studies = Target::Studies { uids: vec!["1.2".into()], patient: None };
        assert_eq!(iid_target("requestType=STUDY&studyUID=1.2", &site), Ok(IidLaunch { target: studies.clone(), key_images_only: false }));
        assert!(matches!(iid_target("requestType=STUDY", &site), Err(PlanError::Request(_))));
        assert_eq!(
            iid_target("requestType=STUDY&studyUID=1.2&keyImagesOnly=true", &site),
            Ok(IidLaunch { target: studies.clone(), key_images_only: true })
        );
        assert_eq!(iid_target("requestType=STUDY&studyUID=1.2&keyImagesOnly=false", &site).map(|l| l.key_images_only), Ok(false));
        assert_eq!(
            iid_target("requestType=PATIENT&patientID=99%5E%5E%5EOther", &site),
            Err(PlanError::Identifier(IdentifierError::UnknownAuthority("Other".into())))
        );
    }

    #[test]
    fn the_hosts_open_names_a_study_first_then_a_patient() {
        let open = |patient: Option<&str>, study_uid: Option<&str>, accession_number: Option<&str>| {
            open_target(OpenRequest {
                patient: patient.map(Into::into),
                study_uid: study_uid.map(Into::into),
                accession_number: accession_number.map(Into::into),
            })
        };
        assert_eq!(open(Some("p"), Some("1.2"), Some("A")), Some(Target::Studies { uids: vec!["1.2".into()], patient: Some("p".into()) }));
        assert_eq!(open(None, None, Some("A")), Some(Target::Accessions { numbers: vec!["A".into()], patient: None }));
        assert_eq!(open(Some("p"), None, None), Some(Target::Patient { id: "p".into() }));
        assert_eq!(open(None, None, None), None);
    }

    #[test]
    fn an_unknown_or_missing_authority_is_refused() {
        assert_eq!(plan("requestType=PATIENT&patientID=99%5E%5E%5EOther"), Err(IdentifierError::UnknownAuthority("Other".into())));
        assert_eq!(plan("requestType=PATIENT&patientID=99"), Err(IdentifierError::NoAuthority));
    }
}
