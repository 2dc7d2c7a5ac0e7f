//! What a launch or a host asks to open beyond a patient id: studies by Study Instance UID or
//! accession number (IID STUDY, `emr-imaging:open`), a patient by identifier with IID's
//! filters (IID PATIENT). The patient in context is whoever the found studies belong to, and
//! the same rules hold as for [`Session::open_patient`]: the screen clears before anything is
//! asked, and every image is checked against that patient.

use super::{Activity, Session, SessionError, Status, Update};
use crate::bridge::{BridgeError, Study, StudyList};
use crate::fhir::StudyFilter;
use crate::net::Transport;

/// What to open.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A FHIR Patient id.
    Patient { id: String },
    /// A Patient found by `identifier` (`system|value`), their studies filtered, at most
    /// `most_recent` of them (newest first).
    PatientByIdentifier { identifier: String, filter: StudyFilter, most_recent: Option<u32> },
    /// These studies, listed in this order, the first opened; all of one patient, which must be
    /// `patient` when given.
    Studies { uids: Vec<String>, patient: Option<String> },
    /// The studies with these accession numbers, as for `Studies`.
    Accessions { numbers: Vec<String>, patient: Option<String> },
    /// The ImagingStudy resources with these FHIR ids (a SMART `fhirContext` reference), as for
    /// `Studies`.
    StudyIds { ids: Vec<String>, patient: Option<String> },
}

/// The FHIR identifier token of a Study Instance UID (FHIR's DICOM UID convention).
pub fn study_uid_token(uid: &str) -> String {
    format!("urn:dicom:uid|urn:oid:{uid}")
}

impl<T: Transport, S: super::Screen> Session<T, S> {
    /// Opens `target`: the list, the banner, and the first (or newest) study.
    pub async fn open_target(&self, target: &Target) -> Result<(), SessionError> {
        match target {
            Target::Patient { id } => self.open_patient(id).await,
            Target::PatientByIdentifier { identifier, filter, most_recent } => {
                self.open_patient_by_identifier(identifier, filter, *most_recent).await
            }
            Target::Studies { uids, patient } => self.open_found(uids, patient.as_deref(), Key::Uid).await,
            Target::Accessions { numbers, patient } => self.open_found(numbers, patient.as_deref(), Key::Accession).await,
            Target::StudyIds { ids, patient } => self.open_found(ids, patient.as_deref(), Key::FhirId).await,
        }
    }

    async fn open_patient_by_identifier(
        &self,
        identifier: &str,
        filter: &StudyFilter,
        most_recent: Option<u32>,
    ) -> Result<(), SessionError> {
        // Nobody is known yet, but whoever was shown goes now.
        self.close();
        let claim = self.current();
        self.screen.apply(Update::Status(Status::Loading(Activity::Studies)));
        let found = self.patiently(Activity::Studies, &claim, self.bridge.find_patients(identifier)).await;
        if !claim.is_current() {
            return Err(SessionError::Superseded);
        }
        let patient = match found.map_err(|e| self.fail(e.into()))?.as_slice() {
            [] => return Err(self.fail(SessionError::NoPatientWithIdentifier(identifier.to_string()))),
            [one] => one.clone(),
            _ => return Err(self.fail(SessionError::SeveralPatientsWithIdentifier(identifier.to_string()))),
        };
        let generation = self.switch_patient(&patient.id);
        self.screen.apply(Update::Status(Status::Loading(Activity::Studies)));
        let list = self.patiently(Activity::Studies, &generation, self.bridge.patient_studies(&patient.id, filter)).await;
        if !generation.is_current() {
            return Err(SessionError::Superseded);
        }
        let StudyList { mut studies, incomplete } = list.map_err(|e| self.fail(e.into()))?;
        if let Some(n) = most_recent {
            studies.truncate(n as usize);
        }
        self.show(patient, studies, incomplete, &generation).await
    }

    /// Studies found by UID or accession, all of one patient, who becomes the patient in context.
    async fn open_found(&self, keys: &[String], patient: Option<&str>, key: Key) -> Result<(), SessionError> {
        let claim = match patient {
            Some(id) => self.switch_patient(id),
            None => {
                self.close();
                self.current()
            }
        };
        self.screen.apply(Update::Status(Status::Loading(Activity::Studies)));
        let searches = futures_util::future::join_all(keys.iter().map(|k| self.find_studies(k, key)));
        let found = self.patiently(Activity::Studies, &claim, searches).await;
        if !claim.is_current() {
            return Err(SessionError::Superseded);
        }
        let mut studies: Vec<Study> = Vec::new();
        let mut incomplete = None;
        for (wanted, result) in keys.iter().zip(found) {
            let (matching, stopped) = result.map_err(|e| self.fail(e.into()))?;
            if matching.is_empty() {
                return Err(self.fail(key.not_found(wanted)));
            }
            incomplete = incomplete.or(stopped);
            for study in matching {
                if !studies.iter().any(|s| s.study_uid == study.study_uid) {
                    studies.push(study);
                }
            }
        }
        let owner = one_owner(&studies).map_err(|e| self.fail(e))?;
        if let Some(asked) = patient.filter(|p| *p != owner) {
            let study = studies.iter().find(|s| s.patient_id.as_deref() != Some(asked)).map(|s| s.study_uid.clone()).unwrap_or_default();
            return Err(self.fail(SessionError::StudyOfAnotherPatient { study, patient: asked.to_string() }));
        }
        let generation = if patient.is_some() { claim } else { self.switch_patient(&owner) };
        let read = self.patiently(Activity::Studies, &generation, self.bridge.get_patient(&owner)).await;
        if !generation.is_current() {
            return Err(SessionError::Superseded);
        }
        let person = read.map_err(|e| self.fail(e.into()))?;
        self.show(person, studies, incomplete, &generation).await
    }

    /// The studies `wanted` names, and why paging stopped, if it did.
    async fn find_studies(&self, wanted: &str, key: Key) -> Result<(Vec<Study>, Option<BridgeError>), BridgeError> {
        let StudyList { studies, incomplete } = match key {
            Key::Uid => self.bridge.studies_by_identifier(&study_uid_token(wanted)).await?,
            Key::Accession => self.bridge.studies_by_identifier(wanted).await?,
            Key::FhirId => self.bridge.studies_by_id(wanted).await?,
        };
        // A server may match an identifier loosely (another system, a prefix): keep exact ones.
        let exact = studies
            .into_iter()
            .filter(|s| match key {
                Key::Uid => s.study_uid == wanted,
                Key::Accession => s.accession.as_deref() == Some(wanted),
                Key::FhirId => s.fhir_id == wanted,
            })
            .collect();
        Ok((exact, incomplete))
    }
}

#[derive(Debug, Clone, Copy)]
enum Key {
    Uid,
    Accession,
    FhirId,
}

impl Key {
    fn not_found(self, wanted: &str) -> SessionError {
        match self {
            Key::Uid | Key::FhirId => SessionError::StudyNotFound(wanted.to_string()),
            Key::Accession => SessionError::AccessionNotFound(wanted.to_string()),
        }
    }
}

/// The one patient all `studies` belong to.
fn one_owner(studies: &[Study]) -> Result<String, SessionError> {
    let mut owner: Option<&str> = None;
    for study in studies {
        let Some(id) = study.patient_id.as_deref() else { return Err(SessionError::StudyWithoutPatient(study.study_uid.clone())) };
        match owner {
            Some(o) if o != id => return Err(SessionError::StudiesOfSeveralPatients),
            _ => owner = Some(id),
        }
    }
    owner.map(str::to_string).ok_or(SessionError::NoPatient)
}
