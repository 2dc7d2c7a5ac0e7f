//! The hosted viewer's browser glue (`viewer/index.html`, `viewer/IHEInvokeImageDisplay/`):
//! the page's address, its `config.json` and the host's messages go to [`crate::launch`],
//! which decides; the component it drives is the widget's own.

use super::component::EmrImagingComponent;
use super::error::{ApiError, ErrorCode};
use super::events::Event;
use super::sign_in_window;
use super::smart_launch;
use crate::launch::config::FhircastSetting;
use crate::launch::smart::{Callback, SmartError};
use crate::launch::{self, HostMessage, MessageType, ViewerConfig};
use crate::net::Transport;
use crate::session::Target;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, spawn_local};

/// How long the viewer waits for the host's answer to `emr-imaging:token-request`.
const TOKEN_WAIT: Duration = Duration::from_secs(20);

/// Which entry page started the viewer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// `viewer/index.html`: waits for the host's `emr-imaging:open`.
    Viewer,
    /// `viewer/IHEInvokeImageDisplay/`: the page's query is an IID request.
    Iid,
    /// `viewer/launch.html`: a SMART EHR launch (`iss`, `launch`).
    SmartLaunch,
}

/// Starts the hosted viewer in `root`: `entry` is `"viewer"` or `"iid"`, `configUrl` the
/// address of `config.json`, `launchAddress` the address the page was opened with (the page
/// hides its query until this takes any token out). Resolves once the first request is under
/// way (or refused).
#[wasm_bindgen(js_name = startViewer, skip_typescript)]
pub fn start_viewer(root: web_sys::HtmlElement, entry: String, config_url: String, launch_address: String) -> js_sys::Promise {
    future_to_promise(async move {
        let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
        // Before anything else is fetched: the address comes back without its token (history,
        // Referer and logs never see it).
        // The SMART callback's code and state leave the address in the same step.
        let (url_token, callback, query) = match url::Url::parse(&launch_address) {
            Ok(address) => {
                let (token, clean) = launch::take_access_token(&address);
                let (callback, clean) = Callback::take(&clean);
                window.history()?.replace_state_with_url(&JsValue::NULL, "", Some(clean.as_str()))?;
                // The sign-in window of a frame without storage: the answer is the frame's.
                if callback.is_some() && sign_in_window::hand_to_opener(&address) {
                    show_error(&root, "Signed in", "This window closes; the images open where you started.");
                    return Ok(JsValue::UNDEFINED);
                }
                (token, callback, clean.query().unwrap_or_default().to_string())
            }
            Err(_) => (None, None, String::new()),
        };
        let entry = match entry.as_str() {
            "iid" => Entry::Iid,
            "launch" => Entry::SmartLaunch,
            _ => Entry::Viewer,
        };
        let config = match load_config(&config_url).await {
            Ok(config) => config,
            Err(message) => {
                show_error(&root, "The viewer is not configured", &message);
                return Ok(JsValue::UNDEFINED);
            }
        };
        let host = Rc::new(Host::new(window.clone(), config.parent_origins.clone()));
        let smart = config.smart.clone();
        // An EHR launch: checked, then the browser goes to the authorization server; in a
        // frame without storage, a sign-in window goes there and the launch goes on here.
        let mut signed_in = None;
        if entry == Entry::SmartLaunch
            || (entry == Entry::Viewer && callback.is_none() && url_token.is_none() && smart.is_some() && host.embedder().is_none())
        {
            let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
            let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            let issuer = match &smart {
                None => Err(SmartError::NotConfigured),
                Some(settings) if entry == Entry::SmartLaunch => match param("iss") {
                    None => Err(SmartError::NoIssuer),
                    Some(iss) => settings.check_issuer(&iss).map(|iss| (settings, iss, param("launch"))),
                },
                // A standalone launch, by itself: the site's FHIR server is the issuer.
                Some(settings) => settings.check_issuer(config.fhir_base.as_str()).map(|iss| (settings, iss, None)),
            };
            let started = match issuer {
                Ok((settings, iss, launch)) if !smart_launch::has_storage() && sign_in_window::in_frame() => {
                    sign_in_window::sign_in(&root, settings, &iss, launch.as_deref()).await.map(Some)
                }
                Ok((settings, iss, launch)) => smart_launch::begin(settings, &iss, launch.as_deref()).await.map(|_| None),
                Err(e) => Err(e),
            };
            match started {
                Ok(Some(granted)) => signed_in = Some(granted),
                Ok(None) => return Ok(JsValue::UNDEFINED),
                Err(e) => {
                    show_error(&root, "This launch is refused", &e.to_string());
                    return Ok(JsValue::UNDEFINED);
                }
            }
        }
        let granted = match (callback, &smart) {
            _ if signed_in.is_some() => signed_in,
            (None, _) => None,
            (Some(callback), Some(settings)) => match smart_launch::complete(settings, callback).await {
                Ok(granted) => Some(granted),
                Err(e) => {
                    show_error(&root, "This sign-in is refused", &e.to_string());
                    return Ok(JsValue::UNDEFINED);
                }
            },
            (Some(_), None) => {
                show_error(&root, "This sign-in is refused", &SmartError::NotConfigured.to_string());
                return Ok(JsValue::UNDEFINED);
            }
        };
        // The request is checked before anything is shown or asked of a server.
        let launch = match entry {
            Entry::Iid => match launch::iid_target(&query, &config) {
                Ok(launch) => Some(launch),
                Err(e) => return Ok(refuse(&root, &host, &e.to_string())),
            },
            Entry::Viewer | Entry::SmartLaunch => None,
        };
        let key_images_only = launch.as_ref().is_some_and(|l| l.key_images_only);
        let mut target = launch.map(|l| l.target);
        let fhir_base = granted.as_ref().map(|g| g.fhir_base.clone());
        let context = granted.as_ref().map(|g| &g.context);
        let fhircast = config.fhircast_session(context.and_then(|c| c.hub_url.as_deref()), context.and_then(|c| c.hub_topic.as_deref()));
        let user = granted.as_ref().and_then(|g| g.user.as_deref());
        let component = Rc::new(EmrImagingComponent::new(options(&config, fhir_base.as_ref(), user, fhircast.as_ref(), key_images_only))?);
        let handshake = Rc::new(Handshake::default());
        // A host, if any, is asked for a token when ours cannot be renewed.
        if granted.is_none() || host.embedder().is_some() {
            component.set_provider(token_provider(handshake.clone(), host.clone()));
        }
        if let Some(token) = url_token {
            component.put_token(token);
        }
        if let Some(granted) = granted {
            let context = granted.context;
            component.put_grant(granted.fresh, granted.renewer);
            if !context.need_patient_banner {
                let _ = root.set_attribute("data-ehr-banner", "");
            }
            target = match context.target() {
                Ok(target) => Some(target),
                Err(e) => {
                    show_error(&root, "This sign-in is refused", &e.to_string());
                    return Ok(JsValue::UNDEFINED);
                }
            };
        }
        for (event, kind) in [
            (Event::StudyOpen, MessageType::StudyOpen),
            (Event::ImageDisplayed, MessageType::ImageDisplayed),
            (Event::Error, MessageType::Error),
        ] {
            let host = host.clone();
            let forward = Closure::<dyn Fn(JsValue)>::new(move |detail: JsValue| host.post(kind, Some(&detail)));
            component.listen(event, forward.into_js_value().unchecked_into());
        }
        component.mount(root.clone());
        let notice = Rc::new(Notice { root: root.clone(), shown: Cell::new(false) });
        listen_to_host(&window, &config, &host, &component, &handshake, &notice)?;
        host.post(MessageType::Ready, None);
        if let Some(target) = target {
            open(&component, &notice, target);
        }
        Ok(JsValue::UNDEFINED)
    })
}

async fn load_config(address: &str) -> Result<ViewerConfig, String> {
    let window = web_sys::window().ok_or("no window")?;
    let base = url::Url::parse(&window.location().href().map_err(|_| "no address")?).map_err(|e| e.to_string())?;
    let url = base.join(address).map_err(|e| e.to_string())?;
    let response =
        gloo_net::http::Request::get(url.as_str()).send().await.map_err(|e| launch::ConfigError::Unreadable(e.to_string()).to_string())?;
    if !response.ok() {
        return Err(launch::ConfigError::Unreadable(format!("{url} answered HTTP {}", response.status())).to_string());
    }
    let text = response.text().await.map_err(|e| launch::ConfigError::Unreadable(e.to_string()).to_string())?;
    ViewerConfig::parse(&text, &url).map_err(|e| e.to_string())
}

/// The component's options from the site's settings and the SMART grant (its FHIR base and
/// FHIRcast session): nothing from the address but what to show of the studies.
fn options(
    config: &ViewerConfig,
    fhir_base: Option<&url::Url>,
    user: Option<&str>,
    fhircast: Option<&FhircastSetting>,
    key_images_only: bool,
) -> JsValue {
    let o = js_sys::Object::new();
    let set = |k: &str, v: &JsValue| {
        let _ = js_sys::Reflect::set(&o, &k.into(), v);
    };
    set("fhirBaseUrl", &fhir_base.unwrap_or(&config.fhir_base).as_str().into());
    if let Some(base) = &config.dicomweb_base {
        set("dicomwebBaseUrl", &base.as_str().into());
    }
    if let Some(viewer) = &config.external_iid_viewer {
        set("externalIidViewer", &viewer.as_str().into());
    }
    set("keyImagesOnly", &key_images_only.into());
    if let Some(user) = user {
        set("userId", &user.into());
    }
    let allowed: js_sys::Array = config.allowed_origins.iter().map(|o| JsValue::from_str(o)).collect();
    set("allowedOrigins", &allowed);
    if let Some(cast) = fhircast {
        let f = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&f, &"hubUrl".into(), &cast.hub_url.as_str().into());
        let _ = js_sys::Reflect::set(&f, &"topic".into(), &cast.topic.as_str().into());
        set("fhircast", &f);
    }
    o.into()
}

fn open(component: &Rc<EmrImagingComponent>, notice: &Rc<Notice>, target: Target) {
    let component = component.clone();
    let notice = notice.clone();
    spawn_local(async move {
        // Failures are shown in the viewer and posted to the host as `emr-imaging:error`.
        if let Ok(false) = component.open_target(target).await {
            notice.memory_only();
        }
    });
}

/// A malformed or unservable launch: an error page, the host told, no image.
fn refuse(root: &web_sys::HtmlElement, host: &Host, message: &str) -> JsValue {
    show_error(root, "This image request cannot be shown", message);
    let error = ApiError::with_code(ErrorCode::IidInvalidRequest, message.to_string());
    host.post(MessageType::Error, Some(&error.to_js_object()));
    JsValue::UNDEFINED
}

/// A page of plain text (never markup: the message quotes the request).
fn show_error(root: &web_sys::HtmlElement, title: &str, message: &str) {
    let Some(document) = root.owner_document() else { return };
    root.set_text_content(None);
    let Ok(page) = document.create_element("div") else { return };
    page.set_class_name("emr-viewer-error");
    let _ = page.set_attribute("role", "alert");
    let _ = page.set_attribute("data-testid", "viewer-error");
    for (tag, text) in [("h1", title), ("p", message)] {
        if let Ok(element) = document.create_element(tag) {
            element.set_text_content(Some(text));
            let _ = page.append_child(&element);
        }
    }
    let _ = root.append_child(&page);
}

/// Says once that images will not be kept (storage denied to this frame).
struct Notice {
    root: web_sys::HtmlElement,
    shown: Cell<bool>,
}

impl Notice {
    fn memory_only(&self) {
        if self.shown.replace(true) {
            return;
        }
        let Some(document) = self.root.owner_document() else { return };
        if let Ok(p) = document.create_element("p") {
            p.set_class_name("emr-viewer-notice");
            let _ = p.set_attribute("role", "status");
            let _ = p.set_attribute("data-testid", "viewer-memory-only");
            p.set_text_content(Some("Images are not kept on this device: the browser does not let this page store them."));
            let _ = self.root.before_with_node_1(&p);
        }
    }
}

/// The embedding window: messages go to its origin only (each configured one until it has
/// spoken, then the one it spoke from).
struct Host {
    window: web_sys::Window,
    parents: Vec<String>,
    known: RefCell<Option<String>>,
}

impl Host {
    fn new(window: web_sys::Window, parents: Vec<String>) -> Host {
        Host { window, parents, known: RefCell::new(None) }
    }

    /// The parent frame, or the opener of a popup; none for a top-level page of its own.
    fn embedder(&self) -> Option<web_sys::Window> {
        let parent = self.window.parent().ok().flatten().filter(|p| !js_sys::Object::is(p, &self.window));
        parent.or_else(|| self.window.opener().ok().filter(|o| !o.is_null() && !o.is_undefined()).map(|o| o.unchecked_into()))
    }

    fn post(&self, kind: MessageType, detail: Option<&JsValue>) {
        let Some(target) = self.embedder() else { return };
        let message = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&message, &"type".into(), &kind.as_str().into());
        if let Some(detail) = detail {
            let _ = js_sys::Reflect::set(&message, &"detail".into(), detail);
        }
        let known = self.known.borrow();
        let origins = match known.as_ref() {
            Some(origin) => std::slice::from_ref(origin),
            None => self.parents.as_slice(),
        };
        for origin in origins {
            let _ = target.post_message(&message, origin);
        }
    }
}

/// Tokens the host sent while a request waits for one.
#[derive(Default)]
struct Handshake {
    waiting: RefCell<Vec<futures_channel::oneshot::Sender<String>>>,
}

/// Asked before the first request without a token and once after a 401: asks the host and
/// waits (at most [`TOKEN_WAIT`]) for its `emr-imaging:token`.
fn token_provider(handshake: Rc<Handshake>, host: Rc<Host>) -> crate::net::TokenProvider {
    Rc::new(move || {
        let (send, receive) = futures_channel::oneshot::channel();
        handshake.waiting.borrow_mut().push(send);
        host.post(MessageType::TokenRequest, None);
        Box::pin(async move {
            let timer = crate::net::browser::FetchTransport::default();
            let sleep = std::pin::pin!(timer.sleep(TOKEN_WAIT));
            match futures_util::future::select(receive, sleep).await {
                futures_util::future::Either::Left((Ok(token), _)) => Some(token),
                _ => None,
            }
        })
    })
}

fn listen_to_host(
    window: &web_sys::Window,
    config: &ViewerConfig,
    host: &Rc<Host>,
    component: &Rc<EmrImagingComponent>,
    handshake: &Rc<Handshake>,
    notice: &Rc<Notice>,
) -> Result<(), JsValue> {
    let (config, host, component, handshake, notice) = (config.clone(), host.clone(), component.clone(), handshake.clone(), notice.clone());
    let on_message = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
        // Only the embedding window, from a configured origin; anything else is ignored unread.
        let origin = event.origin();
        let from_embedder = match (event.source(), host.embedder()) {
            (Some(source), Some(embedder)) => js_sys::Object::is(&source, &embedder),
            _ => false,
        };
        if !from_embedder || !config.accepts_messages_from(&origin) {
            return;
        }
        let Some(value) =
            js_sys::JSON::stringify(&event.data()).ok().and_then(|t| t.as_string()).and_then(|t| serde_json::from_str(&t).ok())
        else {
            return;
        };
        let Ok(message) = HostMessage::parse(&value) else { return };
        *host.known.borrow_mut() = Some(origin);
        match message {
            HostMessage::Token(token) => {
                let waiting: Vec<_> = handshake.waiting.borrow_mut().drain(..).collect();
                if waiting.is_empty() {
                    component.put_token(token);
                } else {
                    for waiter in waiting {
                        let _ = waiter.send(token.clone());
                    }
                }
            }
            HostMessage::Open(request) => {
                if let Some(target) = launch::open_target(request) {
                    open(&component, &notice, target);
                }
            }
            HostMessage::Close => component.close_patient(),
        }
    });
    window.add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref())?;
    // The listener lives as long as the page: the viewer is the page.
    on_message.forget();
    Ok(())
}
