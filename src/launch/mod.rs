//! The hosted viewer's entries: what a launch asks for, checked before anything is fetched.
//! Platform-free (tested natively); the browser glue only hands it the page's address,
//! messages and settings.

pub mod config;
pub mod iid;
pub mod invoker;
pub mod messages;
pub mod plan;
pub mod smart;
pub mod token;

pub use config::{ConfigError, ViewerConfig};
pub use iid::{
    CxError, FhirIdentifier, Hd, IdentifierError, IidDateTime, IidError, IidOptions, IidRequest, PatientCx, PatientFilters,
    PatientIdSystems, PatientQuery, RequestType, StudyKey, ViewerType,
};
pub use invoker::{build_iid_url, diagnostic_link, iid_url_from_values, InvokerError, ParamValue};
pub use messages::{HostMessage, MessageError, MessageType, OpenRequest};
pub use plan::{iid_target, open_target, target, IidLaunch, PlanError};
pub use token::take_access_token;
