//! The SMART launch in the browser: random bytes, the tab's sessionStorage and the page's
//! address for [`crate::launch::smart`], which decides every step.
//!
//! Only `state`, the PKCE verifier and the issuer go to sessionStorage, and they are deleted
//! as soon as the callback reads them; tokens stay in memory; nothing goes to localStorage.

use crate::launch::smart::{self, Authorize, Callback, LaunchContext, Pending, Pkce, SmartError, SmartSettings, RANDOM_BYTES};
use crate::net::browser::FetchTransport;
use crate::net::{Fresh, Renewer, Transport};
use std::rc::Rc;
use url::Url;

/// What a completed launch hands the viewer.
pub(crate) struct Granted {
    /// The FHIR base the images are found at (`iss`, or its imaging endpoint).
    pub fhir_base: Url,
    pub fresh: Fresh,
    pub renewer: Option<Renewer>,
    pub context: LaunchContext,
}

fn random() -> Result<[u8; RANDOM_BYTES], SmartError> {
    let mut bytes = [0u8; RANDOM_BYTES];
    let crypto = web_sys::window().and_then(|w| w.crypto().ok()).ok_or(SmartError::Settings("this browser has no crypto".into()))?;
    crypto.get_random_values_with_u8_array(&mut bytes).map_err(|_| SmartError::Settings("this browser gave no random numbers".into()))?;
    Ok(bytes)
}

/// The tab's sessionStorage, or why the launch cannot use it (a cross-site frame may be denied
/// all storage: the launch must then run in a window of its own).
fn storage() -> Result<web_sys::Storage, SmartError> {
    web_sys::window().and_then(|w| w.session_storage().ok().flatten()).ok_or_else(|| {
        SmartError::Settings("this browser denies the viewer's frame its session storage; open the viewer in a window of its own".into())
    })
}

/// Starts a launch at `iss` (already checked against `allowedIssuers`): discovery, then the
/// browser goes to the authorization server. `launch` is the EHR's, `None` standalone.
pub(crate) async fn begin(settings: &SmartSettings, iss: &Url, launch: Option<&str>) -> Result<(), SmartError> {
    let discovery = smart::discover(&FetchTransport::default(), iss).await?;
    let pkce = Pkce::from_random(&random()?);
    let state = smart::new_state(&random()?);
    let pending = Pending { state: state.clone(), verifier: pkce.verifier.clone(), iss: iss.as_str().to_string() };
    storage()?
        .set_item(smart::PENDING_KEY, &pending.to_json())
        .map_err(|_| SmartError::Settings("session storage is full or denied".into()))?;
    let address = Authorize { settings, discovery: &discovery, iss, launch, state: &state, challenge: &pkce.challenge }.url();
    web_sys::window()
        .ok_or(SmartError::NotConfigured)?
        .location()
        .assign(address.as_str())
        .map_err(|_| SmartError::Settings("the browser refused to go to the authorization server".into()))
}

/// Ends a launch from its callback: the state and verifier are read and deleted at once, the
/// state checked, the code exchanged, and the granted scopes checked.
pub(crate) async fn complete(settings: &SmartSettings, callback: Callback) -> Result<Granted, SmartError> {
    let pending = match storage() {
        Ok(storage) => {
            let text = storage.get_item(smart::PENDING_KEY).ok().flatten();
            let _ = storage.remove_item(smart::PENDING_KEY);
            text.as_deref().and_then(Pending::from_json)
        }
        Err(_) => None,
    };
    let code = callback.code(pending.as_ref())?;
    let Some(pending) = pending else { return Err(SmartError::NoPendingLaunch) };
    let iss = settings.check_issuer(&pending.iss)?;
    let transport = Rc::new(FetchTransport::default());
    let discovery = smart::discover(&*transport, &iss).await?;
    let asked = settings.scope_for(false);
    let grant = smart::exchange_code(&*transport, &discovery, settings, &code, &pending.verifier, &asked).await?;
    smart::check_granted(&grant.scope)?;
    let renewer = smart::renewer(transport.clone(), discovery.token_endpoint.clone(), settings.clone(), &grant);
    Ok(Granted {
        fhir_base: discovery.imaging_base(&iss),
        fresh: Fresh { token: grant.access_token.clone(), renew_at: crate::net::renew_time(transport.now_unix(), grant.expires_in) },
        renewer,
        context: grant.context,
    })
}
