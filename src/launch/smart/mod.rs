//! SMART App Launch v2 (EHR and standalone) for the hosted viewer and the widget: discovery,
//! the authorize request with PKCE S256 and a checked `state`, the code exchange, the launch
//! context and the granted scopes. Platform-free: the browser glue hands it addresses, random
//! bytes and a [`crate::net::Transport`]; tokens it gets stay in memory.

mod discovery;
mod flow;
mod grant;
mod id_token;
mod pkce;
pub mod scope;
mod settings;

pub use discovery::{discovery_url, SmartConfiguration, IMAGING_CAPABILITY};
pub use flow::{discover, exchange_code, refresh, renewer, signed_in_user, Authorize, Callback, Pending, PENDING_KEY};
pub use grant::{is_bearer_token, Grant, LaunchContext, StudyRef};
pub use id_token::{Alg, IdToken, IdTokenError, SignedInUser};
pub use pkce::{challenge_s256, new_state, state_matches, Pkce, RANDOM_BYTES};
pub use scope::{check_granted, MissingScope};
pub use settings::{ClientAuth, SmartSettings, KNOWN as SETTINGS};

use thiserror::Error;

/// Why a SMART launch stops. None quotes a token, a code or a verifier.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SmartError {
    #[error("viewer/config.json: {0}")]
    Settings(String),
    #[error("the viewer is not configured for SMART launches (config.json has no smart section)")]
    NotConfigured,
    #[error("the launch has no iss (the FHIR server to launch from)")]
    NoIssuer,
    #[error("{0:?} is not a FHIR server this viewer may be launched from (config.json smart.allowedIssuers)")]
    IssuerNotAllowed(String),
    #[error("the SMART configuration of the FHIR server cannot be used: {0}")]
    Discovery(String),
    #[error("the authorization server does not offer PKCE with S256 (it offers: {0}); the viewer launches only with S256")]
    NoS256(String),
    #[error("the authorization server refused: {error}{}", .description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    AuthorizeRefused { error: String, description: Option<String> },
    #[error("this sign-in was not started in this tab (no state or code verifier is kept for it); start the launch again")]
    NoPendingLaunch,
    #[error("the sign-in answer does not carry the state this tab sent; it is refused")]
    StateMismatch,
    #[error("the token endpoint could not be reached: {0}")]
    TokenEndpoint(String),
    #[error("the token endpoint refused (HTTP {status}): {error}{}", .description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    TokenRefused { status: u16, error: String, description: Option<String> },
    #[error("the token response cannot be used: {0}")]
    TokenResponse(String),
    #[error(transparent)]
    Scope(#[from] MissingScope),
    #[error("the launch names no patient (the token response has no patient)")]
    NoPatient,
    #[error(transparent)]
    IdToken(#[from] IdTokenError),
}
