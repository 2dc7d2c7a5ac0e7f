//! Who saw which images: access events as FHIR R4 AuditEvents shaped after the IHE Basic Audit
//! Log Patterns (BALP), for the host always and for a FHIR server through an outbox.
//!
//! Servers log requests, not what a user was shown: the session knows that, so events are born
//! there as [`Access`] values (no user, no clock), and the face turns each into an AuditEvent
//! ([`audit_event`]) with the user, the time and a stable id. Delivery ([`outbox`]) sends them
//! oldest first as a batch Bundle whose entries are conditional creates on that id, so a resend
//! after a lost answer never stores an event twice, and removes an event only once the server
//! confirmed it.

mod event;
#[cfg(target_arch = "wasm32")]
pub mod idb;
pub mod outbox;
#[cfg(test)]
mod tests;
mod time;

pub use event::{audit_event, batch_bundle, event_id_query, Actor, User, EVENT_ID_SYSTEM};
pub use time::iso_instant;

/// A claim of a JWT access token (`fhirUser`, `sub`), read without verifying it: it only
/// names the user in the audit trail, it grants nothing.
pub fn token_claim(token: &str, claim: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = crate::text::base64_decode(payload)?;
    let json: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    json.get(claim)?.as_str().map(str::to_string)
}

/// A random (version 4) UUID from 16 random bytes.
pub fn uuid_v4(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

use crate::wire::wire_enum;

wire_enum! {
    /// What a user did with a patient's images.
    pub enum AccessKind {
        /// A study list search (BALP Query).
        Query = "query",
        /// A study opened and an image of a series displayed (BALP Read), once per series.
        Read = "read",
        /// An image handed to the host through `loadImage` (DICOM Export).
        Export = "export",
        /// Instances stored through STOW-RS (BALP Create).
        Create = "create",
        /// An image withheld because its header names another patient (a Read that failed).
        Blocked = "blocked",
    }
}

/// A study as an audit names it: the DICOM UID, its accession, and the FHIR resource it came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StudyRef {
    pub uid: String,
    pub accession: Option<String>,
    /// The ImagingStudy's id on the FHIR server, when the study came from one.
    pub fhir_id: Option<String>,
}

impl StudyRef {
    pub fn of(study: &crate::bridge::Study) -> Self {
        StudyRef {
            uid: study.study_uid.clone(),
            accession: study.accession.clone(),
            fhir_id: Some(study.fhir_id.clone()).filter(|id| !id.is_empty()),
        }
    }
}

/// One access as the session saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub kind: AccessKind,
    /// The FHIR Patient id of the patient in context.
    pub patient_id: Option<String>,
    /// Studies concerned: none for a query, the one opened, exported or stored otherwise.
    pub studies: Vec<StudyRef>,
    pub series_uid: Option<String>,
    /// SOP Instances concerned (an export, an upload).
    pub instances: Vec<String>,
    /// Why the action failed, in words that carry no PHI (the console and the host may show it).
    pub failure: Option<String>,
}

impl Access {
    pub fn new(kind: AccessKind, patient_id: Option<String>) -> Self {
        Access { kind, patient_id, studies: Vec::new(), series_uid: None, instances: Vec::new(), failure: None }
    }
}

/// Where the session's access events go: the face builds and delivers the AuditEvents.
pub trait AuditSink {
    fn record(&self, access: Access);
}

/// No audit: what a session without a sink uses.
impl AuditSink for () {
    fn record(&self, _: Access) {}
}

impl<S: AuditSink + ?Sized> AuditSink for std::rc::Rc<S> {
    fn record(&self, access: Access) {
        (**self).record(access)
    }
}
