//! Where access events are born: the session knows what the user was shown, which no server
//! does. A Read is recorded once per series per session (not per frame, not again on scrolling
//! back); a block is recorded with a reason that names no patient.

use super::{Screen, Session};
use crate::audit::{Access, AccessKind, AuditSink, StudyRef};
use crate::bridge::Study;
use crate::imaging::IdentityMismatch;
use crate::net::Transport;
use std::collections::HashSet;
use std::rc::Rc;

/// The session's audit sink and what it has recorded as read.
pub(super) struct Audit {
    sink: Rc<dyn AuditSink>,
    /// (study, series) already recorded as read this session.
    read: std::cell::RefCell<HashSet<(String, String)>>,
}

impl Default for Audit {
    fn default() -> Self {
        Audit { sink: Rc::new(()), read: Default::default() }
    }
}

/// Why an image was withheld, in words without the header's or the patient's values.
pub fn blocked_reason(mismatch: &IdentityMismatch) -> &'static str {
    match mismatch {
        IdentityMismatch::MissingPatientId => "the image has no Patient ID",
        IdentityMismatch::PatientId { .. } => "the image's Patient ID is not an identifier of the patient in context",
        IdentityMismatch::PatientName { .. } => "the image's patient name does not match the patient in context",
    }
}

impl<T: Transport, S: Screen> Session<T, S> {
    /// Sends every access event of this session to `sink`.
    pub fn with_audit(mut self, sink: Rc<dyn AuditSink>) -> Self {
        self.audit = Audit { sink, read: Default::default() };
        self
    }

    /// Forgets which series were read: a later viewing is recorded again (after a close).
    pub(super) fn audit_forget(&self) {
        self.audit.read.borrow_mut().clear();
    }

    pub(super) fn audit_query(&self, patient_id: &str) {
        self.audit.sink.record(Access::new(AccessKind::Query, Some(patient_id.to_string())));
    }

    /// An image of `series_uid` was drawn (viewport or thumbnail): recorded once per series.
    pub(super) fn audit_read(&self, study: &Study, series_uid: &str) {
        if !self.audit.read.borrow_mut().insert((study.study_uid.clone(), series_uid.to_string())) {
            return;
        }
        let mut access = Access::new(AccessKind::Read, self.patient_id());
        access.studies.push(StudyRef::of(study));
        access.series_uid = Some(series_uid.to_string());
        self.audit.sink.record(access);
    }

    pub(super) fn audit_export(&self, patient_id: &str, study: &Study, series_uid: &str, instance_uid: &str) {
        let mut access = Access::new(AccessKind::Export, Some(patient_id.to_string()));
        access.studies.push(StudyRef::of(study));
        access.series_uid = Some(series_uid.to_string());
        access.instances.push(instance_uid.to_string());
        self.audit.sink.record(access);
    }

    /// An export was refused: the instance is another patient's.
    pub(super) fn audit_export_blocked(&self, patient_id: &str, study: &Study, series_uid: &str, mismatch: &IdentityMismatch) {
        let mut access = Access::new(AccessKind::Blocked, Some(patient_id.to_string()));
        access.studies.push(StudyRef::of(study));
        access.series_uid = Some(series_uid.to_string());
        access.failure = Some(blocked_reason(mismatch).to_string());
        self.audit.sink.record(access);
    }

    /// An image was withheld; the study and series are those being shown, when known.
    pub(super) fn audit_blocked(&self, mismatch: &IdentityMismatch) {
        let (study, series) = {
            let state = self.state.borrow();
            let series = state.stack.as_ref().map(|(_, s)| s.clone());
            let uid = state.selected_study.clone();
            let study = uid.and_then(|uid| state.studies.iter().chain(state.opened.iter()).find(|s| s.study_uid == uid).cloned());
            (study, series)
        };
        let mut access = Access::new(AccessKind::Blocked, self.patient_id());
        access.studies.extend(study.as_ref().map(StudyRef::of));
        access.series_uid = series;
        access.failure = Some(blocked_reason(mismatch).to_string());
        self.audit.sink.record(access);
    }

    /// Instances stored for `patient_id` (an upload confirmed by the server). The patient is
    /// the one the files were checked against, which need not be the one on screen by the time
    /// the server answers.
    pub fn audit_created(&self, patient_id: &str, study: StudyRef, instances: Vec<String>) {
        let mut access = Access::new(AccessKind::Create, Some(patient_id.to_string()));
        access.studies.push(study);
        access.instances = instances;
        self.audit.sink.record(access);
    }
}
