//! `EMRImagingComponent`: it forwards to the [`Session`], which decides everything, and turns
//! the session's updates into the view's state and host events.
//!
//! Async methods return Promises built from cloned `Rc` state, never from `&self` futures: a JS
//! caller may call another method while one is pending.

use super::audit::{AuditHooks, AuditOutbox, Auditor, LocalBoxFuture};
use super::error::ApiError;
use super::error::ErrorCode;
use super::events::{self, Event, ImageDisplayed};
use super::fhircast::{Fhircast, FhircastConfig};
use super::subscriptions::StudyWatch;
use super::upload::Uploader;
use super::{jpeg, options};
use crate::bridge::{ImagingBridge, Study};
use crate::net::browser::FetchTransport;
use crate::session::{Export, Screen, Session, SessionError, Update};
use crate::view::{Action, App, Locale, ShownImage, Store};
use options::Options;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

/// Shows a patient's images from a FHIR server and the DICOMweb servers its Endpoints name.
#[wasm_bindgen(js_name = EMRImagingComponent)]
pub struct EmrImagingComponent {
    inner: Rc<Inner>,
}

pub(super) struct Inner {
    pub(super) session: Session<FetchTransport, Rc<Face>>,
    options: Options,
    pub(super) face: Rc<Face>,
    /// The cache partition currently open (FHIR base + user), if any.
    partition: RefCell<Option<String>>,
    auditor: Rc<Auditor>,
    /// The FHIRcast subscription, when connected.
    fhircast: RefCell<Option<Rc<Fhircast>>>,
    /// New studies of the patient on screen (a FHIR Subscription or polling), when asked for.
    watch: Option<Rc<StudyWatch>>,
    /// The SMART launch this component was made for, and who signed in (`fromSmartLaunch`).
    launch: RefCell<Option<(crate::launch::smart::LaunchContext, Option<String>)>>,
    /// The upload panel's owner (`upload` option).
    uploader: Option<Rc<Uploader>>,
}

/// Where the session's updates land: the view's store, and the host's events.
pub(super) struct Face {
    store: Store,
    /// FHIRcast hears of the user's studies (to publish them) and of patient clears.
    fhircast: RefCell<Option<std::rc::Weak<Fhircast>>>,
    watch: RefCell<Option<std::rc::Weak<StudyWatch>>>,
    uploader: RefCell<Option<std::rc::Weak<Uploader>>>,
    listeners: events::Listeners,
    /// `blob:` URLs handed out by `loadImage`, revoked on patient switch and `destroy()`.
    object_urls: RefCell<Vec<String>>,
    mounted: RefCell<Option<Mounted>>,
}

struct Mounted {
    element: web_sys::HtmlElement,
    _handle: Box<dyn std::any::Any>,
}

impl Screen for Face {
    fn apply(&self, update: Update) {
        let fhircast = self.fhircast.borrow().as_ref().and_then(std::rc::Weak::upgrade);
        let watch = self.watch.borrow().as_ref().and_then(std::rc::Weak::upgrade);
        let uploader = self.uploader.borrow().as_ref().and_then(std::rc::Weak::upgrade);
        let studies_listed = matches!(update, Update::Studies(_));
        match &update {
            Update::Cleared { patient_changed: true } => {
                self.revoke_object_urls();
                if let Some(u) = &uploader {
                    u.on_patient_cleared();
                }
                if let Some(f) = &fhircast {
                    f.on_patient_cleared();
                }
                if let Some(w) = &watch {
                    w.stop();
                }
            }
            Update::Patient { patient, .. } => {
                if let Some(w) = &watch {
                    w.on_patient(&patient.id);
                }
            }
            Update::StudyOpened(study) => self.emit(Event::StudyOpen, to_js(study).unwrap_or(JsValue::NULL)),
            Update::SeriesLoaded { study_uid, series_uid, instances, bytes, ms } => {
                let detail = events::SeriesLoadedDetail { study_uid, series_uid, instances: *instances, bytes: *bytes, ms: *ms };
                self.emit(Event::SeriesLoaded, to_js(&detail).unwrap_or(JsValue::NULL));
            }
            _ => {}
        }
        // The view first for a clear (nothing of the previous patient drawn after it), after
        // the event otherwise (a host listener sees the event before the repaint).
        self.store.apply(update);
        if let (true, Some(u)) = (studies_listed, &uploader) {
            u.on_studies();
        }
    }

    fn failed(&self, error: &SessionError) {
        self.store.failed(error);
        self.emit(Event::Error, ApiError::from(error).to_js_object());
    }
}

#[wasm_bindgen(js_class = EMRImagingComponent)]
impl EmrImagingComponent {
    /// `new EMRImagingComponent(fhirBaseUrl)` or `new EMRImagingComponent({ fhirBaseUrl, … })`.
    /// A relative base URL is resolved against the page.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "string | EMRImagingOptions")] options: JsValue,
    ) -> Result<EmrImagingComponent, JsValue> {
        let options = Options::from_js(options)?;
        let bridge = ImagingBridge::new(FetchTransport::default(), &options.bridge_config());
        let inner = Rc::new_cyclic(|weak: &std::rc::Weak<Inner>| {
            let on_action = weak.clone();
            let on_displayed = weak.clone();
            let store = Store::new(
                Box::new(move |action| {
                    if let Some(inner) = on_action.upgrade() {
                        inner.handle(action);
                    }
                }),
                Box::new(move |shown| {
                    if let Some(inner) = on_displayed.upgrade() {
                        inner.face.dispatch_displayed(shown);
                    }
                }),
            );
            let listeners = events::Listeners::default();
            for (event, f) in &options.callbacks {
                listeners.add(*event, f.clone());
            }
            let face = Rc::new(Face {
                store,
                fhircast: RefCell::new(None),
                watch: RefCell::new(None),
                uploader: RefCell::new(None),
                listeners,
                object_urls: RefCell::new(Vec::new()),
                mounted: RefCell::new(None),
            });
            let hooks: Rc<dyn AuditHooks> = Rc::new(Hooks(weak.clone()));
            let auditor = Auditor::new(options.user_id.clone(), options.fhir_base.clone(), options.audit_to.clone(), hooks);
            let session = Session::new(bridge, options.session_config(), face.clone())
                .with_audit(auditor.clone())
                .with_decoder(Rc::new(crate::imaging::workers::Workers));
            crate::imaging::workers::warm_up();
            session.set_token(options.token.clone());
            if let Some(provider) = &options.token_provider {
                session.set_token_provider(token_provider(provider.clone()));
            }
            let watch = options.watch.is_on().then(|| StudyWatch::new(weak.clone(), options.watch.clone()));
            *face.watch.borrow_mut() = watch.as_ref().map(Rc::downgrade);
            let uploader = options.upload.clone().map(|config| Uploader::new(weak.clone(), config, options.dicomweb_base.clone()));
            *face.uploader.borrow_mut() = uploader.as_ref().map(Rc::downgrade);
            Inner {
                session,
                options,
                face,
                partition: RefCell::new(None),
                auditor,
                fhircast: RefCell::new(None),
                watch,
                launch: RefCell::new(None),
                uploader,
            }
        });
        if let Some(u) = &inner.uploader {
            u.show();
        }
        inner.auditor.resume();
        if let Some(config) = inner.options.fhircast.clone() {
            let inner = inner.clone();
            wasm_bindgen_futures::spawn_local(async move {
                // A hub that cannot be reached now is retried with backoff; the host hears of it.
                if let Err(message) = inner.connect_fhircast(config).await {
                    inner.face.emit(Event::Error, ApiError::with_code(ErrorCode::ContextSync, message).to_js_object());
                }
            });
        }
        Ok(EmrImagingComponent { inner })
    }

    /// Renders the widget into `element` (replacing an earlier mount).
    pub fn mount(&self, element: web_sys::HtmlElement) {
        let face = &self.inner.face;
        face.unmount();
        let store = face.store.clone();
        store.set_theme(self.inner.options.theme_mode);
        // The option, else the nearest `lang` attribute (the page's `<html lang>`).
        let page = element.closest("[lang]").ok().flatten().and_then(|e| e.get_attribute("lang"));
        store.set_locale(self.inner.options.lang.or_else(|| page.as_deref().and_then(Locale::from_tag)).unwrap_or_default());
        store.set_iid_viewer(self.inner.options.external_iid_viewer.clone());
        let handle = leptos::mount::mount_to(element.clone(), move || {
            leptos::prelude::view! { <App store=store /> }
        });
        if let Some(root) = element.last_element_child().and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
            for (property, value) in &self.inner.options.theme {
                let _ = root.style().set_property(property, value);
            }
        }
        *face.mounted.borrow_mut() = Some(Mounted { element, _handle: Box::new(handle) });
    }

    /// Sets the bearer token: a string (null/undefined for none), or an async provider
    /// `() => Promise<string>` asked for a token before the next request that needs one and
    /// again once after a 401.
    #[wasm_bindgen(js_name = setToken)]
    pub fn set_token(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | TokenProvider | null | undefined")] token: &JsValue,
    ) -> Result<(), JsValue> {
        if let Some(f) = token.dyn_ref::<js_sys::Function>() {
            self.inner.session.set_token_provider(token_provider(f.clone()));
        } else if token.is_string() || token.is_null() || token.is_undefined() {
            self.inner.session.set_token(token.as_string());
        } else {
            return Err(ApiError::invalid_options("setToken takes a string or a function".into()).into_js());
        }
        Ok(())
    }

    /// Subscribes to `"image-displayed"`, `"error"` or `"study-open"` (the `emr-imaging:`
    /// prefix is optional); returns the function that unsubscribes.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn on(
        &self,
        #[wasm_bindgen(unchecked_param_type = "keyof EMRImagingEventMap | `emr-imaging:${keyof EMRImagingEventMap}`")] event: &str,
        #[wasm_bindgen(unchecked_param_type = "(detail: any) => void")] listener: js_sys::Function,
    ) -> Result<js_sys::Function, JsValue> {
        let name = Event::from_name(event).ok_or_else(|| {
            let known: Vec<&str> = Event::ALL.iter().map(|e| e.as_str()).collect();
            ApiError::invalid_options(format!("unknown event {event:?}; one of {known:?}")).into_js()
        })?;
        let id = self.inner.face.listeners.add(name, listener);
        let weak = Rc::downgrade(&self.inner);
        let off = Closure::<dyn FnMut()>::new(move || {
            if let Some(inner) = weak.upgrade() {
                inner.face.listeners.remove(id);
            }
        });
        Ok(off.into_js_value().unchecked_into())
    }

    /// Fetches an image of the current patient as a `blob:` URL of an `image/jpeg` (the
    /// server's rendering when it offers one, else decoded and windowed here), after checking
    /// the instance's own header names the patient. A JPEG is a lossy display rendering (for
    /// previews and thumbnails, not diagnosis). The URL stays valid until `destroy()` or a
    /// patient switch; callers may `URL.revokeObjectURL` it earlier.
    #[wasm_bindgen(js_name = loadImage, unchecked_return_type = "Promise<string>")]
    pub fn load_image(
        &self,
        #[wasm_bindgen(js_name = studyUid)] study_uid: String,
        #[wasm_bindgen(js_name = seriesUid)] series_uid: String,
        #[wasm_bindgen(js_name = instanceUid)] instance_uid: String,
        #[wasm_bindgen(js_name = authToken)] auth_token: Option<String>,
    ) -> js_sys::Promise {
        let inner = self.inner.clone();
        inner.take_token(auth_token);
        let generation = inner.session.current();
        future_to_promise(async move {
            inner.session.ensure_token().await;
            let exported = inner.session.export_image(&study_uid, &series_uid, &instance_uid).await.map_err(api_error)?;
            let blob = match &exported {
                Export::ServerJpeg(bytes) => jpeg::blob_of(bytes).map_err(|e| ApiError::internal(format!("{e:?}")).into_js())?,
                Export::Image(image) => {
                    jpeg::encode(image).await.map_err(|e| ApiError::internal(format!("JPEG encoding failed: {e:?}")).into_js())?
                }
            };
            if !generation.is_current() {
                return Err(api_error(SessionError::Superseded));
            }
            let url = web_sys::Url::create_object_url_with_blob(&blob)?;
            inner.face.object_urls.borrow_mut().push(url.clone());
            Ok(url.into())
        })
    }

    /// Shows `studies` (from `fetchStudies`) in the list, switching to their patient if needed.
    #[wasm_bindgen(js_name = renderStudyList)]
    pub fn render_study_list(&self, #[wasm_bindgen(unchecked_param_type = "Study[]")] studies: js_sys::Array) -> Result<(), JsValue> {
        let uids: Vec<String> = studies
            .iter()
            .map(|item| js_sys::Reflect::get(&item, &"studyUid".into()).ok().and_then(|v| v.as_string()).unwrap_or_default())
            .collect();
        let banner = self.inner.session.show_studies(&uids).map_err(api_error)?;
        if let Some(generation) = banner {
            let inner = self.inner.clone();
            wasm_bindgen_futures::spawn_local(async move {
                // Failures are already shown and announced by the session.
                let _ = inner.session.load_banner(&generation).await;
            });
        }
        Ok(())
    }

    /// Selects `study` (a `Study` from `fetchStudies` or the list), shows its first image and
    /// fills the series strip with a thumbnail of each series (its middle instance, rendered by
    /// us after the patient check). Resolves when the strip is filled.
    #[wasm_bindgen(js_name = loadStudyThumbnails, unchecked_return_type = "Promise<void>")]
    pub fn load_study_thumbnails(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Study")] study: JsValue,
        #[wasm_bindgen(js_name = authToken)] auth_token: Option<String>,
    ) -> js_sys::Promise {
        self.inner.take_token(auth_token);
        let uid = js_sys::Reflect::get(&study, &"studyUid".into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
        self.open_study(uid)
    }

    /// Fetches the patient's studies, shows the list and the first image of the newest study.
    /// Switching patient clears the previous patient's images at once.
    #[wasm_bindgen(js_name = loadPatientImages, unchecked_return_type = "Promise<void>")]
    pub fn load_patient_images(
        &self,
        #[wasm_bindgen(js_name = patientId)] patient_id: String,
        #[wasm_bindgen(js_name = authToken)] auth_token: Option<String>,
    ) -> js_sys::Promise {
        let inner = self.inner.clone();
        inner.take_token(auth_token.clone());
        let generation = inner.session.switch_patient(&patient_id);
        future_to_promise(async move {
            inner.prepare(auth_token.as_deref()).await;
            inner.session.load_patient(&patient_id, &generation).await.map(|_| JsValue::UNDEFINED).map_err(api_error)
        })
    }

    /// The patient's studies (FHIR + DICOMweb), as plain objects; does not touch the view.
    #[wasm_bindgen(js_name = fetchStudies, unchecked_return_type = "Promise<Study[]>")]
    pub fn fetch_studies(
        &self,
        #[wasm_bindgen(js_name = patientId)] patient_id: String,
        #[wasm_bindgen(js_name = authToken)] auth_token: Option<String>,
    ) -> js_sys::Promise {
        let inner = self.inner.clone();
        inner.take_token(auth_token.clone());
        future_to_promise(async move {
            // Every later path to this patient's instances (loadImage, the list, thumbnails)
            // starts from here or from loadPatientImages: both open the cache partition.
            inner.prepare(auth_token.as_deref()).await;
            let studies: Vec<Study> = inner.session.fetch_studies(&patient_id).await.map_err(api_error)?;
            to_js(&studies)
        })
    }

    /// Opens a study of the current patient in the viewport.
    #[wasm_bindgen(js_name = openStudy, unchecked_return_type = "Promise<void>")]
    pub fn open_study(&self, #[wasm_bindgen(js_name = studyUid)] study_uid: String) -> js_sys::Promise {
        let inner = self.inner.clone();
        inner.user_opens(&study_uid);
        future_to_promise(async move {
            inner.session.ensure_token().await;
            inner.session.open_study(&study_uid).await.map(|_| JsValue::UNDEFINED).map_err(api_error)
        })
    }

    /// Shows a listed study of the current patient beside the open one (same modality and body
    /// part), with scrolling linked by slice position; resolves when its images are loaded.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn compare(&self, #[wasm_bindgen(js_name = studyUid)] study_uid: String) -> js_sys::Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            inner.session.ensure_token().await;
            inner.session.compare(&study_uid).await.map(|_| JsValue::UNDEFINED).map_err(api_error)
        })
    }

    /// Back to one viewport.
    #[wasm_bindgen(js_name = closeComparison)]
    pub fn close_comparison(&self) {
        self.inner.session.close_comparison();
    }

    /// Follows a FHIRcast hub (STU3): subscribes to `options` (else the `fhircast` option's),
    /// replacing any earlier subscription; resolves at the hub's confirmation. A dropped
    /// connection is re-established with backoff, and the hub's current context re-read.
    #[wasm_bindgen(js_name = connectFhircast, unchecked_return_type = "Promise<void>")]
    pub fn connect_fhircast(&self, #[wasm_bindgen(unchecked_param_type = "FhircastOptions")] options: Option<JsValue>) -> js_sys::Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let config = match options.filter(|o| !o.is_undefined() && !o.is_null()) {
                Some(o) => FhircastConfig::from_js(&o, options::page_url().as_ref()).map_err(|e| ApiError::invalid_options(e).into_js())?,
                None => inner.options.fhircast.clone().ok_or_else(|| ApiError::invalid_options("no fhircast options".into()).into_js())?,
            };
            inner.connect_fhircast(config).await.map_err(|e| ApiError::with_code(ErrorCode::ContextSync, e).into_js())?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Unsubscribes from the hub and closes its socket (code 1000).
    #[wasm_bindgen(js_name = disconnectFhircast, unchecked_return_type = "Promise<void>")]
    pub fn disconnect_fhircast(&self) -> js_sys::Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let fhircast = inner.fhircast.borrow_mut().take();
            if let Some(fhircast) = fhircast {
                fhircast.disconnect().await;
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The measurements and annotations drawn on the current patient's images, in the order
    /// drawn, with their results (a patient switch drops them).
    #[wasm_bindgen(js_name = getMeasurements, unchecked_return_type = "Measurement[]")]
    pub fn get_measurements(&self) -> Result<JsValue, JsValue> {
        use crate::imaging::measure::MeasurementReport;
        use leptos::prelude::GetUntracked;
        let all = self.inner.face.store.measurements.get_untracked();
        let reports: Vec<MeasurementReport> = all
            .drawn
            .iter()
            .map(|d| MeasurementReport {
                measurement: &d.measurement,
                values: &d.values,
                label: d.measurement.label_in(&d.values, &self.inner.face.store.strings().label_words),
            })
            .collect();
        to_js(&reports)
    }

    /// The SMART launch's context (`fromSmartLaunch`), else null: `patient`, `encounter`, the
    /// `study` `fhirContext` names, `needPatientBanner` (false: the EHR shows its own),
    /// `fhircast` (`hub.url`, `hub.topic`) and the signed-in `user` (the id_token's `fhirUser`,
    /// else `sub`).
    #[wasm_bindgen(getter, js_name = launchContext, unchecked_return_type = "LaunchContext | null")]
    pub fn launch_context(&self) -> JsValue {
        let launch = self.inner.launch.borrow();
        match launch.as_ref() {
            Some((context, user)) => to_js(&super::smart_face::launch_context_json(context, user.as_deref())).unwrap_or(JsValue::NULL),
            None => JsValue::NULL,
        }
    }

    /// Opens what the SMART launch names: the `fhirContext` study (of the launch patient), else
    /// the patient's studies. Rejects with "smart-launch" on a component not from a launch.
    #[wasm_bindgen(js_name = openLaunch, unchecked_return_type = "Promise<void>")]
    pub fn open_launch(&self) -> js_sys::Promise {
        let inner = self.inner.clone();
        let target = inner.launch.borrow().as_ref().map(|(context, _)| context.target());
        future_to_promise(async move {
            let target = match target {
                Some(Ok(target)) => target,
                Some(Err(e)) => return Err(ApiError::from(&e).into_js()),
                None => {
                    let message = "this component was not made by EMRImagingComponent.fromSmartLaunch".to_string();
                    return Err(ApiError::with_code(ErrorCode::SmartLaunch, message).into_js());
                }
            };
            inner.prepare(None).await;
            inner.session.open_target(&target).await.map_err(api_error)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Drops cached images from memory and IndexedDB; resolves when both are empty.
    #[wasm_bindgen(js_name = clearCache, unchecked_return_type = "Promise<void>")]
    pub fn clear_cache(&self) -> js_sys::Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            inner.session.clear_cache().await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Unmounts (the widget's DOM and its listeners go), revokes every `blob:` URL it handed
    /// out, removes `on` listeners and callbacks, forgets the patient and the token, makes
    /// pending calls resolve as superseded without touching the page, and frees this object
    /// (no `free()` needed; any later call throws, as after `free()`).
    pub fn destroy(self) {
        if let Some(fhircast) = self.inner.fhircast.borrow_mut().take() {
            wasm_bindgen_futures::spawn_local(async move { fhircast.disconnect().await });
        }
        if let Some(watch) = &self.inner.watch {
            watch.stop();
        }
        self.inner.session.close();
        self.inner.face.unmount();
        self.inner.session.set_token(None);
        self.inner.face.listeners.clear();
    }
}

/// What a SMART launch (`fromSmartLaunch`, the hosted viewer) sets.
impl EmrImagingComponent {
    /// A SMART grant's token and its renewal, kept fresh for as long as the page lives.
    pub(crate) fn put_grant(&self, fresh: crate::net::Fresh, renewer: Option<crate::net::Renewer>) {
        self.inner.session.put_grant(fresh, renewer);
        let inner = self.inner.clone();
        wasm_bindgen_futures::spawn_local(async move { inner.session.keep_fresh().await });
    }

    /// The launch's context and signed-in user, for `launchContext` and `openLaunch`.
    pub(crate) fn set_launch(&self, context: crate::launch::smart::LaunchContext, user: Option<String>) {
        *self.inner.launch.borrow_mut() = Some((context, user));
    }
}

#[cfg(feature = "viewer")]
/// What the hosted viewer drives besides the public methods (crate-internal: the viewer is
/// another face of the same session).
impl EmrImagingComponent {
    /// Opens a launch's target; resolves to whether images are kept across reloads.
    pub(crate) async fn open_target(&self, target: crate::session::Target) -> Result<bool, JsValue> {
        let inner = self.inner.clone();
        let kept = inner.prepare(None).await;
        inner.session.open_target(&target).await.map_err(api_error)?;
        Ok(kept)
    }

    /// A fresh token from the host, used from the next request on; a provider stays (it is
    /// what answers a 401).
    pub(crate) fn put_token(&self, token: String) {
        self.inner.session.put_token(token);
    }

    pub(crate) fn set_provider(&self, provider: crate::net::TokenProvider) {
        self.inner.session.set_token_provider(provider);
    }

    /// Forgets the patient, as a context close does.
    pub(crate) fn close_patient(&self) {
        self.inner.session.close();
    }

    /// Calls `listener` with each event's detail.
    pub(crate) fn listen(&self, event: Event, listener: js_sys::Function) {
        self.inner.face.listeners.add(event, listener);
    }
}

/// The component as the auditor sees it: the host's events, the token, the transport.
struct Hooks(std::rc::Weak<Inner>);

impl AuditHooks for Hooks {
    fn emit(&self, event: &serde_json::Value) {
        if let Some(inner) = self.0.upgrade() {
            inner.face.emit(Event::Audit, to_js(event).unwrap_or(JsValue::NULL));
        }
    }

    fn token(&self) -> Option<String> {
        let inner = self.0.upgrade()?;
        let bridge = inner.session.bridge();
        bridge.http().auth().token_for(bridge.fhir_base())
    }

    fn drain(&self, outbox: Rc<AuditOutbox>, attempts: u32) -> Option<LocalBoxFuture<'static, ()>> {
        let inner = self.0.upgrade()?;
        Some(Box::pin(async move {
            // Failures keep the events; the host hears of none (no PHI, nothing to act on).
            outbox.drain(inner.session.bridge().http(), Some(attempts), &|_| {}).await;
        }))
    }
}

/// A JS `() => string | Promise<string>` as the session's token provider.
fn token_provider(f: js_sys::Function) -> crate::net::TokenProvider {
    Rc::new(move || {
        let f = f.clone();
        Box::pin(async move {
            let value = f.call0(&JsValue::UNDEFINED).ok()?;
            let value = match value.dyn_into::<js_sys::Promise>() {
                Ok(promise) => wasm_bindgen_futures::JsFuture::from(promise).await.ok()?,
                Err(plain) => plain,
            };
            value.as_string().filter(|t| !t.is_empty())
        })
    })
}

/// Plain JS objects by way of JSON text: one serializer (serde_json's) serves every value,
/// and `JSON.parse` builds the objects natively.
pub(super) fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value).map_err(|e| ApiError::internal(e.to_string()).into_js())?;
    js_sys::JSON::parse(&text)
}

/// A session error as the Promise's rejection.
fn api_error(error: SessionError) -> JsValue {
    ApiError::from(&error).into_js()
}

impl Inner {
    /// The user chose a study: FHIRcast hears of it (to publish it).
    fn user_opens(&self, study_uid: &str) {
        let fhircast = self.fhircast.borrow().clone();
        if let (Some(fhircast), Some(study)) = (fhircast, self.session.listed(study_uid)) {
            fhircast.on_user_opened(&study);
        }
    }

    /// Replaces any FHIRcast subscription by one to `config`.
    async fn connect_fhircast(self: &Rc<Self>, config: FhircastConfig) -> Result<(), String> {
        let old = self.fhircast.borrow_mut().take();
        if let Some(old) = old {
            old.disconnect().await;
        }
        // The token (for the hub, when its origin may have it) and the cache partition: the
        // patients the hub opens load like those the host opens.
        self.prepare(None).await;
        let fhircast = Fhircast::new(Rc::downgrade(self), config);
        *self.face.fhircast.borrow_mut() = Some(Rc::downgrade(&fhircast));
        *self.fhircast.borrow_mut() = Some(fhircast.clone());
        fhircast.connect().await
    }

    /// Before a patient's studies are asked for: a token from the provider if none is held,
    /// then the cache partition of that token's user. Returns whether images are kept.
    async fn prepare(&self, token: Option<&str>) -> bool {
        self.session.ensure_token().await;
        self.ensure_cache_partition(token).await
    }

    /// Opens the IndexedDB tier for this FHIR server and user (memory-only when IndexedDB is
    /// unavailable or disabled) when studies are fetched, so the viewer and `loadImage` share
    /// one cache. A different user gets a different partition, never the previous user's
    /// images; the user is `userId`, else the `sub` of the token passed or held.
    /// Returns whether images are kept across reloads (false: memory only).
    async fn ensure_cache_partition(&self, token: Option<&str>) -> bool {
        if !self.options.persistent_cache {
            return false;
        }
        let bridge = self.session.bridge();
        let held = bridge.http().auth().token_for(bridge.fhir_base());
        let user = self
            .options
            .user_id
            .clone()
            .or_else(|| token.map(str::to_string).or(held).as_deref().and_then(crate::net::token_subject))
            .unwrap_or_else(|| "anonymous".into());
        let partition = crate::cache::policy::partition(bridge.fhir_base().as_str(), &user);
        if self.partition.borrow().as_deref() == Some(partition.as_str()) {
            return bridge.has_persistent();
        }
        *self.partition.borrow_mut() = Some(partition.clone());
        // A browser that denies this frame storage (a cross-site iframe, strict privacy
        // settings) gives no database: the viewer then runs from memory.
        let tier = crate::cache::idb::IdbTier::open(partition, self.options.cache_policy.clone()).await;
        let kept = tier.is_some();
        bridge.set_persistent(tier.map(|t| Rc::new(t) as Rc<dyn crate::cache::PersistentTier>));
        kept
    }

    /// A token passed to a method replaces the current one (and any provider).
    fn take_token(&self, token: Option<String>) {
        if token.is_some() {
            self.session.set_token(token);
        }
    }

    /// The view's intents, run by the session. Failures are already shown and announced.
    fn handle(self: &Rc<Self>, action: Action) {
        let inner = self.clone();
        match action {
            Action::OpenStudy(uid) => wasm_bindgen_futures::spawn_local(async move {
                inner.user_opens(&uid);
                inner.session.ensure_token().await;
                let _ = inner.session.open_study(&uid).await;
            }),
            Action::OpenSeries(series_uid) => wasm_bindgen_futures::spawn_local(async move {
                let _ = inner.session.open_series(&series_uid).await;
            }),
            Action::KeyImagesOnly(on) => wasm_bindgen_futures::spawn_local(async move {
                let _ = inner.session.set_key_images_only(on).await;
            }),
            Action::OpenStructuredReports(series_uid) => wasm_bindgen_futures::spawn_local(async move {
                inner.session.ensure_token().await;
                let _ = inner.session.open_structured_reports(&series_uid).await;
            }),
            Action::CloseStructuredReports => inner.session.close_structured_reports(),
            Action::ApplyPresentationState(series_uid) => wasm_bindgen_futures::spawn_local(async move {
                inner.session.ensure_token().await;
                let _ = inner.session.apply_presentation_state(&series_uid).await;
            }),
            Action::RemovePresentationState => inner.session.remove_presentation_state(),
            Action::Compare(study_uid) => wasm_bindgen_futures::spawn_local(async move {
                inner.session.ensure_token().await;
                let _ = inner.session.compare(&study_uid).await;
            }),
            Action::CloseComparison => inner.session.close_comparison(),
            Action::WantSlice { series_uid, position } => inner.session.want_slice(&series_uid, position),
            upload @ (Action::UploadFiles(_)
            | Action::UploadChoose(..)
            | Action::UploadSend
            | Action::UploadBodySite(_)
            | Action::UploadClear) => {
                if let Some(u) = &inner.uploader {
                    u.handle(upload);
                }
            }
        }
    }
}

impl Face {
    pub(super) fn store(&self) -> &Store {
        &self.store
    }

    fn revoke_object_urls(&self) {
        for url in self.object_urls.borrow_mut().drain(..) {
            let _ = web_sys::Url::revoke_object_url(&url);
        }
    }

    fn unmount(&self) {
        // Dropping the leptos handle removes the DOM it created.
        self.mounted.borrow_mut().take();
    }

    fn dispatch_displayed(&self, shown: &ShownImage) {
        let detail = ImageDisplayed {
            study_uid: &shown.study_uid,
            series_uid: &shown.series_uid,
            instance_uid: &shown.instance_uid,
            lossy: shown.image.header.lossy,
        };
        self.emit(Event::ImageDisplayed, to_js(&detail).unwrap_or(JsValue::NULL));
    }

    /// To `on` listeners and option callbacks, then as a DOM event on the mount element.
    pub(super) fn emit(&self, event: Event, detail: JsValue) {
        self.listeners.call(event, &detail);
        self.dispatch(&format!("{}{event}", events::DOM_PREFIX), detail);
    }

    /// A bubbling, composed CustomEvent on the mount element.
    fn dispatch(&self, name: &str, detail: JsValue) {
        let Some(element) = self.mounted.borrow().as_ref().map(|m| m.element.clone()) else { return };
        let init = web_sys::CustomEventInit::new();
        init.set_bubbles(true);
        init.set_composed(true);
        init.set_detail(&detail);
        if let Ok(event) = web_sys::CustomEvent::new_with_event_init_dict(name, &init) {
            let _ = element.dispatch_event(&event);
        }
    }
}
