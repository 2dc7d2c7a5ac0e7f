//! Event Observer: the clinician's context from outside drives the same [`crate::session`] as
//! the widget's own calls. FHIRcast STU3 ([`fhircast`], the protocol; [`follow`], what each
//! event does to the session) and, as they land, FHIR topic-based Subscriptions.

pub mod fhircast;
pub mod follow;
