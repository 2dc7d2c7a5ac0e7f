//! What each FHIRcast event does to the session, and the status it is acknowledged with.
//!
//! [`Follower::decide`] is pure (the event, the clock of the current context, our own events
//! in flight); [`follow`] runs the decision on the [`Session`] and hands the status to `ack` as
//! soon as it is known, so a slow load never turns into a hub timeout. The rules:
//! - A Patient-open clears the previous patient synchronously, before anything else (the
//!   acknowledgement included), then loads the new one.
//! - A study (ImagingStudy-open, DiagnosticReport-open) is looked up first: one that is not the
//!   event's patient's (or, with no patient in the event, not the patient on screen's) is
//!   refused with 409 and nothing is shown. When the event moves to another patient, the
//!   previous one is cleared before the lookup.
//! - An event older than the one that set the current context is ignored (STU3 2-5). Logout
//!   and hibernate are followed whatever their time: dropping images is always safe.

use super::fhircast::{ContextClock, EventKind, Notification, Outbox, StudyKey, SyncAction, SyncError};
use crate::bridge::Study;
use crate::net::Transport;
use crate::session::{study_uid_token, Screen, Session, SessionError, Target};

/// The acknowledgement statuses (STU3 2-5).
pub const FOLLOWED: u16 = 200;
pub const REFUSED: u16 = 409;
pub const BAD_EVENT: u16 = 400;
pub const FAILED: u16 = 500;

/// What an event asks of the session.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    SwitchPatient(String),
    /// Patient-close of the patient on screen (or of none named).
    Close,
    /// Open these studies (the first in the viewport), of `patient` when the event names one.
    OpenStudies {
        studies: Vec<StudyKey>,
        patient: Option<String>,
    },
    /// Leave the open study if it is one of these.
    LeaveStudy(Vec<StudyKey>),
    Logout,
    Hibernate,
    /// Show a SyncError (someone did not follow, or our own event was refused for good).
    ShowSyncError(SyncError),
    /// A SyncError about our own event: send it again after [`super::fhircast::RESEND_AFTER`].
    Resend(serde_json::Value),
    /// Acknowledged as followed, nothing to do (stale, our own event back, nothing of ours).
    Nothing,
    /// Malformed for its kind (a Patient-open without patient).
    Bad(String),
}

/// The state that decisions depend on, kept across events.
#[derive(Debug, Default)]
pub struct Follower {
    pub clock: ContextClock,
    pub outbox: Outbox,
}

impl Follower {
    /// Decides what `event` asks for, given the patient on screen.
    pub fn decide(&mut self, event: &Notification, on_screen: Option<&str>) -> Decision {
        if self.outbox.confirm(&event.id) {
            // Our own event, back from the hub: it confirms it; the viewer shows it already.
            self.clock.set(&event.timestamp);
            return Decision::Nothing;
        }
        if event.kind.is_context_change() {
            if self.clock.is_stale(&event.timestamp) {
                return Decision::Nothing;
            }
            self.clock.set(&event.timestamp);
        }
        match &event.kind {
            EventKind::PatientOpen => match event.patient_id() {
                Some(id) => Decision::SwitchPatient(id),
                None => Decision::Bad("Patient-open without a patient".into()),
            },
            EventKind::PatientClose => match (event.patient_id(), on_screen) {
                (Some(closed), Some(shown)) if closed != shown => Decision::Nothing,
                _ => Decision::Close,
            },
            EventKind::ImagingStudyOpen | EventKind::DiagnosticReportOpen => {
                let studies = event.studies();
                let patient = event.patient_id();
                match (studies.is_empty(), &patient, &event.kind) {
                    (true, Some(p), EventKind::DiagnosticReportOpen) => Decision::SwitchPatient(p.clone()),
                    (true, _, _) => Decision::Bad(format!("{} names no study", event.kind.name())),
                    (false, _, _) => Decision::OpenStudies { studies, patient },
                }
            }
            EventKind::ImagingStudyClose | EventKind::DiagnosticReportClose => Decision::LeaveStudy(event.studies()),
            EventKind::UserLogout => Decision::Logout,
            EventKind::UserHibernate => Decision::Hibernate,
            EventKind::SyncError => match event.sync_error() {
                Some(error) => match self.outbox.on_sync_error(&error) {
                    SyncAction::Resend(body) => Decision::Resend(body),
                    SyncAction::GiveUp(_) | SyncAction::Show => Decision::ShowSyncError(error),
                },
                None => Decision::Bad("SyncError without an OperationOutcome".into()),
            },
            EventKind::Other(_) => Decision::Nothing,
        }
    }
}

/// How a decision ended, for the host's `emr-imaging:context` event and the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Followed {
    pub status: u16,
    /// Why it was refused or failed.
    pub reason: Option<String>,
}

/// Runs `decision` on `session`; `ack` gets the status once it is decided, before any load.
/// A logout wipes this user's images (memory and the persistent tier) and forgets the token.
pub async fn follow<T: Transport, S: Screen>(session: &Session<T, S>, decision: Decision, ack: impl FnOnce(u16)) -> Followed {
    let done = |status: u16, reason: Option<String>| Followed { status, reason };
    match decision {
        Decision::SwitchPatient(id) => {
            let generation = session.switch_patient(&id);
            ack(FOLLOWED);
            session.ensure_token().await;
            match session.load_patient(&id, &generation).await {
                Ok(()) | Err(SessionError::Superseded) => done(FOLLOWED, None),
                // Followed all the same: the screen shows the new patient and the error.
                Err(e) => done(FOLLOWED, Some(e.to_string())),
            }
        }
        Decision::Close | Decision::Hibernate => {
            session.close();
            ack(FOLLOWED);
            done(FOLLOWED, None)
        }
        Decision::Logout => {
            session.close();
            session.set_token(None);
            session.clear_cache().await;
            ack(FOLLOWED);
            done(FOLLOWED, None)
        }
        Decision::LeaveStudy(studies) => {
            let open = session.selected_study_uid();
            if open.as_deref().is_some_and(|uid| studies.is_empty() || studies.iter().any(|k| k.uid.as_deref() == Some(uid))) {
                session.leave_study();
            }
            ack(FOLLOWED);
            done(FOLLOWED, None)
        }
        Decision::OpenStudies { studies, patient } => open_studies(session, &studies, patient, ack).await,
        Decision::ShowSyncError(error) => {
            session.report(SessionError::ContextOutOfSync {
                event: error.event_name.clone().unwrap_or_else(|| "an event".into()),
                by: error.subscriber.as_deref().map(|s| format!(" by {s}")).unwrap_or_default(),
                reason: error.diagnostics.clone().unwrap_or_else(|| "no reason given".into()),
            });
            ack(FOLLOWED);
            done(FOLLOWED, None)
        }
        Decision::Resend(_) | Decision::Nothing => {
            ack(FOLLOWED);
            done(FOLLOWED, None)
        }
        Decision::Bad(reason) => {
            ack(BAD_EVENT);
            done(BAD_EVENT, Some(reason))
        }
    }
}

async fn open_studies<T: Transport, S: Screen>(
    session: &Session<T, S>,
    keys: &[StudyKey],
    patient: Option<String>,
    ack: impl FnOnce(u16),
) -> Followed {
    let on_screen = session.patient_id();
    // The context moves to another patient: whoever is shown goes before the lookup.
    if patient.is_some() && patient != on_screen {
        session.close();
    }
    let expected = patient.or(on_screen);
    let found = match find_studies(session, keys).await {
        Ok(found) => found,
        Err(reason) => {
            ack(REFUSED);
            return Followed { status: REFUSED, reason: Some(reason) };
        }
    };
    let owner = match (found.iter().map(|s| s.patient_id.clone()).collect::<Option<Vec<_>>>(), &expected) {
        (Some(owners), Some(expected)) if owners.iter().all(|o| o == expected) => expected.clone(),
        (Some(owners), None) if owners.windows(2).all(|w| w[0] == w[1]) && !owners.is_empty() => owners[0].clone(),
        _ => {
            ack(REFUSED);
            let whose = expected.as_deref().unwrap_or("the patient on screen");
            return Followed { status: REFUSED, reason: Some(format!("the study is not a study of patient {whose}")) };
        }
    };
    let uids: Vec<String> = found.iter().map(|s| s.study_uid.clone()).collect();
    ack(FOLLOWED);
    session.ensure_token().await;
    let listed = session.patient_id().as_deref() == Some(owner.as_str()) && session.patient().is_some();
    let opened = match (listed, uids.as_slice()) {
        (true, [one]) if session.is_listed(one) => session.open_study(one).await,
        _ => session.open_target(&Target::Studies { uids, patient: Some(owner) }).await,
    };
    match opened {
        Ok(()) | Err(SessionError::Superseded) => Followed { status: FOLLOWED, reason: None },
        Err(e) => Followed { status: FOLLOWED, reason: Some(e.to_string()) },
    }
}

/// Each study the event names, by UID, else accession, else FHIR id; exactly one each.
async fn find_studies<T: Transport, S: Screen>(session: &Session<T, S>, keys: &[StudyKey]) -> Result<Vec<Study>, String> {
    let bridge = session.bridge();
    let mut found = Vec::new();
    for key in keys {
        let list = if let Some(uid) = &key.uid {
            bridge.studies_by_identifier(&study_uid_token(uid)).await
        } else if let Some(accession) = &key.accession {
            bridge.studies_by_identifier(accession).await
        } else if let Some(id) = &key.fhir_id {
            bridge.studies_by_id(id).await
        } else {
            return Err("a study without UID, accession or id".into());
        };
        // A server may match an identifier loosely (another system, a prefix): keep exact ones.
        let matches = |s: &Study| match (&key.uid, &key.accession, &key.fhir_id) {
            (Some(uid), _, _) => &s.study_uid == uid,
            (None, Some(accession), _) => s.accession.as_ref() == Some(accession),
            (None, None, id) => id.as_ref() == Some(&s.fhir_id),
        };
        let list = list.map_err(|e| e.to_string())?;
        let mut exact: Vec<Study> = list.studies.into_iter().filter(|s| matches(s)).collect();
        match exact.len() {
            1 => found.extend(exact.pop()),
            0 => return Err("no such study on the FHIR server".into()),
            _ => return Err("the study is named by more than one ImagingStudy".into()),
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests;
