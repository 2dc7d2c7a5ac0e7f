//! Event Observer: the clinician's context from outside drives the same [`crate::session`] as
//! the widget's own calls. FHIRcast STU3 ([`fhircast`], the protocol; [`follow`], what each
//! event does to the session) and FHIR topic-based Subscriptions ([`subscriptions`]).

pub mod fhircast;
pub mod follow;
pub mod subscriptions;
