//! After a successful upload the study appears in the patient's list: recorded on the FHIR
//! server (an ImagingStudy with its Endpoint) and listed from there, or, without a write or
//! when the server refuses it, listed from the PACS's own answer (QIDO-RS).
//!
//! Whose study it is decides everything: the PACS's PatientID and name for it must be the
//! patient in context's, as an image header must, before it is recorded or listed. An upload
//! that finishes after the user moved to another patient is therefore never recorded under
//! the new patient, and its answer is dropped. Its images are still checked when drawn.

use super::{Screen, Session, SessionError, Update};
use crate::bridge::{newest_first, Source, Study};
use crate::imaging::check_header;
use crate::net::Transport;
use url::Url;

impl<T: Transport, S: Screen> Session<T, S> {
    /// Shows study `study_uid`, just stored through STOW-RS at the DICOMweb `base` (where QIDO
    /// and WADO answer too), in the list of the patient in context, announced as new.
    ///
    /// With `create` (the host's `createImagingStudy`), an ImagingStudy and its Endpoint are
    /// written to the FHIR server (no second one for a study it has), then the list is read
    /// again. If that write is refused (a read-only server: 403, 405), or the list read after it
    /// lacks the study, the error is reported and the study is listed from QIDO-RS; the call
    /// succeeds. A study the FHIR list has already is read again with it (new series appear).
    pub async fn show_uploaded(&self, base: &Url, study_uid: &str, create: bool) -> Result<(), SessionError> {
        let generation = self.current();
        let patient_id = self.patient_id().filter(|_| self.state.borrow().patient.is_some()).ok_or(SessionError::NoPatient)?;
        if !create && self.is_listed_from_fhir(study_uid) {
            return self.refresh_studies().await.map(|_| ()).map_err(|e| self.reported(e));
        }
        let study = self.bridge.pacs_study(base, study_uid).await;
        if !generation.is_current() {
            return Err(SessionError::Superseded);
        }
        let mut study = study.map_err(|e| self.fail(e.into()))?;
        let context = self.context().ok_or(SessionError::NoPatient)?;
        if check_header(&study.pacs_patient().unwrap_or_default(), &context).is_err() {
            return Err(self.fail(SessionError::StudyOfAnotherPatient { study: study_uid.to_string(), patient: patient_id }));
        }
        // Its PACS names this patient, as each of its images must when drawn.
        study.patient_id = Some(patient_id.clone());
        let mut refreshed = false;
        if create {
            let recorded = self.bridge.record_pacs_study(&patient_id, base, &study).await;
            if !generation.is_current() {
                return Err(SessionError::Superseded);
            }
            match recorded {
                Ok(_) => {
                    refreshed = true;
                    match self.refresh_studies().await {
                        Ok(_) if self.is_listed_from_fhir(study_uid) => return Ok(()),
                        Ok(_) => {}
                        Err(SessionError::Superseded) => return Err(SessionError::Superseded),
                        Err(e) => {
                            self.fail(e);
                        }
                    }
                }
                Err(e) => {
                    self.fail(e.into());
                }
            }
        }
        // FHIR lists it already (the upload added to a study it has): its entry stays, read
        // again for the new series unless that was just tried.
        if self.is_listed_from_fhir(study_uid) {
            if !refreshed {
                self.refresh_studies().await.map_err(|e| self.reported(e))?;
            }
            return Ok(());
        }
        self.list_uploaded(study);
        Ok(())
    }

    /// Whether the list on screen has `study_uid` from the FHIR server.
    fn is_listed_from_fhir(&self, study_uid: &str) -> bool {
        self.listed_study(study_uid).is_some_and(|s| s.source != Source::PacsOnly)
    }

    /// Adds a study from the PACS to the list on screen (replacing an older answer for it),
    /// in the list's order, and announces it when it is new there.
    fn list_uploaded(&self, study: Study) {
        let uid = study.study_uid.clone();
        let (studies, fresh) = {
            let state = self.state.borrow();
            let mut studies = state.studies.clone();
            let fresh = match studies.iter().position(|s| s.study_uid == uid) {
                Some(at) => {
                    studies[at] = study;
                    false
                }
                None => {
                    studies.push(study);
                    true
                }
            };
            crate::sorting::sort_by(&mut studies, newest_first);
            (studies, fresh)
        };
        self.set_studies(studies);
        if fresh {
            self.screen.apply(Update::NewStudies(vec![uid]));
        }
    }

    /// A failure reported unless it only says a newer choice replaced the work.
    fn reported(&self, error: SessionError) -> SessionError {
        match error {
            SessionError::Superseded => error,
            e => self.fail(e),
        }
    }
}
