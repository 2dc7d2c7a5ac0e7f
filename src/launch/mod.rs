//! The hosted viewer's entries: what a launch asks for, checked before anything is fetched.
//! Platform-free (tested natively); the browser glue only hands it the page's address,
//! messages and settings.

pub mod config;
pub mod iid;
pub mod messages;
pub mod plan;
pub mod token;

pub use config::{ConfigError, ViewerConfig};
pub use iid::{IidError, IidOptions, IidRequest, PatientCx, PatientFilters};
pub use messages::{HostMessage, MessageError, MessageType, OpenRequest};
pub use plan::{target, PlanError};
pub use token::take_access_token;
