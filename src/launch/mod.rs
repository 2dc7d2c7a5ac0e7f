//! The hosted viewer's entries: what a launch asks for, checked before anything is fetched.
//! Platform-free (tested natively); the browser glue only hands it the page's address,
//! messages and settings.

pub mod iid;

pub use iid::{IidError, IidOptions, IidRequest, PatientCx, PatientFilters};
