//! The SMART launch in the browser: random bytes, the tab's sessionStorage, WebCrypto and the
//! page's address for [`crate::launch::smart`], which decides every step; and its JS face,
//! `smartLaunch` and `EMRImagingComponent.fromSmartLaunch`.
//!
//! Only `state`, the PKCE verifier and the issuer go to sessionStorage, and they are deleted
//! as soon as the callback reads them; tokens stay in memory; nothing goes to localStorage.

use super::component::EmrImagingComponent;
use super::error::{ApiError, ErrorCode};
use super::smart_face::launch_request;
use crate::launch::smart::{self, Alg, Authorize, Callback, LaunchContext, Pending, Pkce, SmartError, SmartSettings, RANDOM_BYTES};
use crate::net::browser::FetchTransport;
use crate::net::{Fresh, Renewer, Transport};
use std::rc::Rc;
use url::Url;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

/// What a completed launch hands the viewer.
pub(crate) struct Granted {
    /// The FHIR base the images are found at (`iss`, or its imaging endpoint).
    pub fhir_base: Url,
    pub fresh: Fresh,
    pub renewer: Option<Renewer>,
    pub context: LaunchContext,
    /// Who signed in, from the verified id_token (`None` without one): names the cache partition.
    pub user: Option<String>,
}

fn random() -> Result<[u8; RANDOM_BYTES], SmartError> {
    super::crypto_random().ok_or(SmartError::Settings("this browser gave no random numbers".into()))
}

/// The tab's sessionStorage, or why the launch cannot use it (a cross-site frame may be denied
/// all storage: the launch must then run in a window of its own).
fn storage() -> Result<web_sys::Storage, SmartError> {
    web_sys::window().and_then(|w| w.session_storage().ok().flatten()).ok_or_else(|| {
        SmartError::Settings("this browser denies the viewer's frame its session storage; open the viewer in a window of its own".into())
    })
}

/// The authorize address of a new launch at `iss`, and what must survive until its callback.
pub(crate) async fn authorize(settings: &SmartSettings, iss: &Url, launch: Option<&str>) -> Result<(Pending, Url), SmartError> {
    let discovery = smart::discover(&FetchTransport::default(), iss).await?;
    let pkce = Pkce::from_random(&random()?);
    let state = smart::new_state(&random()?);
    let address = Authorize { settings, discovery: &discovery, iss, launch, state: &state, challenge: &pkce.challenge }.url();
    Ok((Pending { state, verifier: pkce.verifier, iss: iss.as_str().to_string() }, address))
}

/// Whether this page may keep the launch's state across the redirect (a cross-site frame may
/// be denied all storage: its launch then signs in through a window of its own).
#[cfg(feature = "viewer")]
pub(crate) fn has_storage() -> bool {
    storage().is_ok()
}

/// Starts a launch at `iss` (already checked against `allowedIssuers`): discovery, then the
/// browser goes to the authorization server. `launch` is the EHR's, `None` standalone.
pub(crate) async fn begin(settings: &SmartSettings, iss: &Url, launch: Option<&str>) -> Result<(), SmartError> {
    let (pending, address) = authorize(settings, iss, launch).await?;
    storage()?
        .set_item(smart::PENDING_KEY, &pending.to_json())
        .map_err(|_| SmartError::Settings("session storage is full or denied".into()))?;
    web_sys::window()
        .ok_or(SmartError::NotConfigured)?
        .location()
        .assign(address.as_str())
        .map_err(|_| SmartError::Settings("the browser refused to go to the authorization server".into()))
}

/// The launch this tab started, read from sessionStorage and deleted at once.
fn take_pending() -> Option<Pending> {
    let storage = storage().ok()?;
    let text = storage.get_item(smart::PENDING_KEY).ok().flatten();
    let _ = storage.remove_item(smart::PENDING_KEY);
    text.as_deref().and_then(Pending::from_json)
}

/// Whether this tab has a launch under way (read without taking it).
#[cfg(feature = "viewer")]
pub(crate) fn has_pending() -> bool {
    storage().ok().and_then(|s| s.get_item(smart::PENDING_KEY).ok().flatten()).is_some()
}

/// Ends a launch from its callback: the state and verifier are read and deleted at once, the
/// state checked, the code exchanged, and the granted scopes checked.
pub(crate) async fn complete(settings: &SmartSettings, callback: Callback) -> Result<Granted, SmartError> {
    exchange(settings, callback, take_pending()).await
}

/// Ends a launch whose state and verifier `pending` holds (from storage, or the memory of a
/// frame that signed in through a window of its own).
pub(crate) async fn exchange(settings: &SmartSettings, callback: Callback, pending: Option<Pending>) -> Result<Granted, SmartError> {
    let code = callback.code(pending.as_ref())?;
    let Some(pending) = pending else { return Err(SmartError::NoPendingLaunch) };
    let iss = settings.check_issuer(&pending.iss)?;
    let transport = Rc::new(FetchTransport::default());
    let discovery = smart::discover(&*transport, &iss).await?;
    let asked = settings.scope_for(false);
    let grant = smart::exchange_code(&*transport, &discovery, settings, &code, &pending.verifier, &asked).await?;
    smart::check_granted(&grant.scope)?;
    let user = match &grant.id_token {
        Some(id_token) => smart::signed_in_user(&*transport, &discovery, &settings.client_id, id_token, verify_signature)
            .await?
            .map(|u| u.partition_user().to_string()),
        None => None,
    };
    let renewer = smart::renewer(transport.clone(), discovery.token_endpoint.clone(), settings.clone(), &grant);
    Ok(Granted {
        fhir_base: discovery.imaging_base(&iss),
        fresh: Fresh { token: grant.access_token.clone(), renew_at: crate::net::renew_time(transport.now_unix(), grant.expires_in) },
        renewer,
        context: grant.context,
        user,
    })
}

/// The id_token's signature, by the browser's WebCrypto (RFC 7518 §3.3 and §3.4).
async fn verify_signature(alg: Alg, jwk: serde_json::Value, input: Vec<u8>, signature: Vec<u8>) -> Result<bool, String> {
    let subtle = web_sys::window().and_then(|w| w.crypto().ok()).ok_or("this browser has no crypto")?.subtle();
    let object = |pairs: &[(&str, &str)]| {
        let o = js_sys::Object::new();
        for (k, v) in pairs {
            let _ = js_sys::Reflect::set(&o, &(*k).into(), &(*v).into());
        }
        o
    };
    let (import, check) = match alg {
        Alg::Rs256 => (object(&[("name", "RSASSA-PKCS1-v1_5"), ("hash", "SHA-256")]), object(&[("name", "RSASSA-PKCS1-v1_5")])),
        Alg::Es256 => (object(&[("name", "ECDSA"), ("namedCurve", "P-256")]), object(&[("name", "ECDSA"), ("hash", "SHA-256")])),
    };
    // Only the public members: WebCrypto refuses a JWK whose `use` or `key_ops` disagree.
    let fields: &[&str] = match alg {
        Alg::Rs256 => &["kty", "n", "e"],
        Alg::Es256 => &["kty", "crv", "x", "y"],
    };
    let key_data = js_sys::Object::new();
    for field in fields {
        let value = jwk.get(*field).and_then(serde_json::Value::as_str).ok_or_else(|| format!("the key has no {field}"))?;
        let _ = js_sys::Reflect::set(&key_data, &(*field).into(), &value.into());
    }
    let usages = js_sys::Array::of1(&"verify".into());
    let failed =
        |e: JsValue| format!("WebCrypto: {}", e.as_string().or_else(|| js_sys::Error::from(e).message().as_string()).unwrap_or_default());
    let key = subtle.import_key_with_object("jwk", &key_data, &import, false, &usages).map_err(failed)?;
    let key: web_sys::CryptoKey = JsFuture::from(key).await.map_err(failed)?.unchecked_into();
    let verified = subtle.verify_with_object_and_u8_array_and_u8_array(&check, &key, &signature, &input).map_err(failed)?;
    Ok(JsFuture::from(verified).await.map_err(failed)?.as_bool() == Some(true))
}

/// The page's address.
fn page_url() -> Result<Url, ApiError> {
    let href = web_sys::window().and_then(|w| w.location().href().ok()).ok_or_else(|| ApiError::internal("no window".into()))?;
    Url::parse(&href).map_err(|e| ApiError::internal(e.to_string()))
}

/// A JS object as JSON (functions and `undefined` members drop out).
fn json_of(value: &JsValue) -> Result<serde_json::Value, ApiError> {
    let text = js_sys::JSON::stringify(value).ok().and_then(|t| t.as_string()).unwrap_or_default();
    serde_json::from_str(&text).map_err(|_| ApiError::invalid_options("the SMART settings are not a plain object".into()))
}

/// `smartLaunch(config)`: runs the authorize step of a SMART launch for a page that embeds the
/// widget; the browser leaves for the authorization server and comes back to `redirectUri`
/// (the page itself by default), where `EMRImagingComponent.fromSmartLaunch` completes it.
#[wasm_bindgen(js_name = smartLaunch, unchecked_return_type = "Promise<void>")]
pub fn smart_launch(#[wasm_bindgen(unchecked_param_type = "SmartLaunchConfig")] config: JsValue) -> js_sys::Promise {
    future_to_promise(async move {
        let run = async {
            let (settings, iss, launch) = launch_request(&json_of(&config)?, &page_url()?).map_err(|e| ApiError::from(&e))?;
            begin(&settings, &iss, launch.as_deref()).await.map_err(|e| ApiError::from(&e))
        };
        run.await.map(|_| JsValue::UNDEFINED).map_err(ApiError::into_js)
    })
}

#[wasm_bindgen(js_class = EMRImagingComponent)]
impl EmrImagingComponent {
    /// Completes a SMART launch on its redirect page and returns the component for it: the
    /// code and state leave the address at once, the code is exchanged (PKCE), the id_token
    /// checked, and the token kept fresh from then on. `options` are the component's, with
    /// `smart` the settings given to `smartLaunch` (`fhirBaseUrl` comes from the launch).
    /// Then `mount(element)` and `openLaunch()`.
    #[wasm_bindgen(js_name = fromSmartLaunch, unchecked_return_type = "Promise<EMRImagingComponent>")]
    pub fn from_smart_launch(#[wasm_bindgen(unchecked_param_type = "SmartLaunchOptions")] options: JsValue) -> js_sys::Promise {
        future_to_promise(async move {
            let run = async {
                let page = page_url()?;
                let smart_value = js_sys::Reflect::get(&options, &"smart".into()).unwrap_or(JsValue::UNDEFINED);
                if !smart_value.is_object() {
                    return Err(ApiError::invalid_options(
                        "fromSmartLaunch needs options.smart (the settings given to smartLaunch)".into(),
                    ));
                }
                let settings = SmartSettings::for_page(&json_of(&smart_value)?, &page).map_err(|e| ApiError::from(&e))?;
                let (callback, clean) = Callback::take(&page);
                if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
                    let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(clean.as_str()));
                }
                let callback = callback.ok_or_else(|| {
                    ApiError::with_code(
                        ErrorCode::SmartLaunch,
                        "this page's address carries no SMART sign-in answer (code and state); start with smartLaunch".into(),
                    )
                })?;
                let granted = complete(&settings, callback).await.map_err(|e| ApiError::from(&e))?;
                let options = component_options(&options, &granted)?;
                let component = EmrImagingComponent::new(options).map_err(|e| ApiError::invalid_options(format!("{e:?}")))?;
                component.put_grant(granted.fresh, granted.renewer);
                component.set_launch(granted.context, granted.user);
                Ok(component)
            };
            run.await.map(JsValue::from).map_err(ApiError::into_js)
        })
    }
}

/// The host's options with what the launch decided: its FHIR base, the signed-in user, and
/// the FHIRcast session of the token response (it wins over the host's, as in the viewer).
fn component_options(options: &JsValue, granted: &Granted) -> Result<JsValue, ApiError> {
    let copy = js_sys::Object::assign(&js_sys::Object::new(), options.unchecked_ref());
    let set = |k: &str, v: &JsValue| js_sys::Reflect::set(&copy, &k.into(), v).map(|_| ()).map_err(|_| ApiError::internal(k.into()));
    let _ = js_sys::Reflect::delete_property(&copy, &"smart".into());
    set("fhirBaseUrl", &granted.fhir_base.as_str().into())?;
    if let Some(user) = &granted.user {
        set("userId", &user.as_str().into())?;
    }
    if let Some(topic) = &granted.context.hub_topic {
        let host = js_sys::Reflect::get(&copy, &"fhircast".into()).ok().filter(JsValue::is_object);
        let hub = granted.context.hub_url.as_deref().and_then(|h| Url::parse(h).ok()).filter(|h| crate::net::check_address(h).is_ok());
        let host_hub = host.as_ref().and_then(|h| js_sys::Reflect::get(h, &"hubUrl".into()).ok()).and_then(|h| h.as_string());
        if let Some(hub_url) = hub.map(|h| h.to_string()).or(host_hub) {
            let fhircast =
                js_sys::Object::assign(&js_sys::Object::new(), host.as_ref().map(|h| h.unchecked_ref()).unwrap_or(&js_sys::Object::new()));
            let _ = js_sys::Reflect::set(&fhircast, &"hubUrl".into(), &hub_url.into());
            let _ = js_sys::Reflect::set(&fhircast, &"topic".into(), &topic.as_str().into());
            set("fhircast", &fhircast)?;
        }
    }
    Ok(copy.into())
}
