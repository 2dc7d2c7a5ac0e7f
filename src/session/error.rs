//! Why a session call did not do what was asked.

use crate::bridge::rendered::RenderedError;
use crate::bridge::BridgeError;
use crate::imaging::{IdentityMismatch, ImagingError, VerifyError};
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum SessionError {
    #[error(transparent)]
    Bridge(#[from] BridgeError),
    #[error(transparent)]
    Imaging(#[from] ImagingError),
    /// The image (or its metadata) is not the patient's in context: it was withheld.
    #[error(transparent)]
    WrongPatient(#[from] IdentityMismatch),
    /// The server answered with another instance than the one asked for.
    #[error("the server's metadata for {asked} describes instance {got:?}")]
    WrongInstance { asked: String, got: Option<String> },
    #[error("study {0} is not loaded")]
    StudyNotLoaded(String),
    #[error("study {0} is not a study of the current patient (call loadPatientImages or fetchStudies first)")]
    StudyNotKnown(String),
    #[error("renderStudyList takes studies from fetchStudies; none were fetched")]
    NothingFetched,
    #[error("study {0:?} is not among the fetched studies")]
    StudyNotFetched(String),
    #[error("series {0} is not part of the study")]
    UnknownSeries(String),
    /// No server knows a study a launch asked for by UID.
    #[error("no study with Study Instance UID {0} was found")]
    StudyNotFound(String),
    #[error("no study with accession number {0:?} was found")]
    AccessionNotFound(String),
    #[error("study {0} names no patient of this FHIR server, so it cannot be checked and is not shown")]
    StudyWithoutPatient(String),
    #[error("the requested studies belong to different patients; none is shown")]
    StudiesOfSeveralPatients,
    #[error("study {study} is not a study of patient {patient}; it is not shown")]
    StudyOfAnotherPatient { study: String, patient: String },
    #[error("no patient has the identifier {0}")]
    NoPatientWithIdentifier(String),
    #[error("more than one patient has the identifier {0}; none is shown")]
    SeveralPatientsWithIdentifier(String),
    /// The FHIRcast hub says a context change was not followed (a SyncError).
    #[error("the clinical context is out of step: {event} was not followed{by} ({reason})")]
    ContextOutOfSync { event: String, by: String, reason: String },
    /// Key images only, and no Key Object Selection of the study names one of its images.
    #[error("study {0} has no key images: no Key Object Selection in it names any of its images")]
    NoKeyImages(String),
    #[error("series {0} holds no grayscale presentation state")]
    NoPresentationState(String),
    #[error("the presentation state of series {0} names no image series of this study")]
    PresentationStateWithoutImages(String),
    /// The study is not one to show beside the open one (`session::is_comparable`).
    #[error("study {0} cannot be compared with the open study: another patient, modality or body part, or none is open")]
    NotComparable(String),
    #[error("study {0} lists no image series to compare")]
    NothingToCompare(String),
    #[error("no patient in context")]
    NoPatient,
    /// The sign-in ended and could not be renewed; what is on screen stays.
    #[error("session expired: the sign-in could not be renewed; the images shown stay, sign in again to load more")]
    SessionExpired,
    /// A newer choice (patient, study or series) replaced this one; its results were dropped.
    #[error("a newer request replaced this one")]
    Superseded,
}

impl From<VerifyError> for SessionError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Imaging(e) => SessionError::Imaging(e),
            VerifyError::Mismatch(m) => SessionError::WrongPatient(m),
        }
    }
}

impl From<RenderedError> for SessionError {
    fn from(e: RenderedError) -> Self {
        match e {
            RenderedError::Bridge(b) => SessionError::Bridge(b),
            RenderedError::Identity(m) => SessionError::WrongPatient(m),
            RenderedError::WrongInstance { asked, got } => SessionError::WrongInstance { asked, got },
        }
    }
}
