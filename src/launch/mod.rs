//! The hosted viewer's entries: what a launch asks for, checked before anything is fetched.
//! Platform-free (tested natively); the browser glue only hands it the page's address,
//! messages and settings.

pub mod iid;
pub mod invoker;

pub use iid::{
    CxError, FhirIdentifier, Hd, IdentifierError, IidDateTime, IidError, IidOptions, IidRequest, PatientCx, PatientFilters,
    PatientIdSystems, PatientQuery, RequestType, StudyKey, ViewerType,
};
pub use invoker::{build_iid_url, iid_url_from_values, InvokerError, ParamValue};
