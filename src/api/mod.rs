//! The JS face: `EMRImagingComponent` (DESIGN.md §3).
//!
//! Async methods return Promises built from cloned `Rc` state, never from `&self` futures: a JS
//! caller may call another method while one is pending. Every load carries a generation number;
//! results of a load that a newer patient switch superseded are dropped, so the previous
//! patient's data can never reappear.

mod error;
mod events;
mod jpeg;
mod options;
mod types;

use crate::bridge::{rendered::RenderedError, BridgeConfig, BridgeError, ImagingBridge, Study};
use crate::fhir::Patient;
use crate::imaging::{check_patient, DecodedImage};
use crate::net::browser::FetchTransport;
use crate::view::{Action, App, ShownImage, Status, Store, STRINGS};
use error::ApiError;
use leptos::prelude::{GetUntracked, Set, WithUntracked};
use options::Options;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

/// Shows a patient's images from a FHIR server and the DICOMweb servers its Endpoints name.
#[wasm_bindgen(js_name = EMRImagingComponent)]
pub struct EmrImagingComponent {
    inner: Rc<Inner>,
}

struct Inner {
    bridge: ImagingBridge<FetchTransport>,
    options: Options,
    listeners: events::Listeners,
    /// `blob:` URLs handed out by `loadImage`, revoked on patient switch and `destroy()`.
    object_urls: RefCell<Vec<String>>,
    /// The last `fetchStudies` answer and whose it is: `loadImage` and `renderStudyList` may
    /// use studies that were fetched but never shown.
    fetched: RefCell<Option<(String, Vec<Study>)>>,
    /// The cache partition currently open (FHIR base + user), if any.
    partition: RefCell<Option<String>>,
    store: Store,
    /// The current patient's FHIR id, once a load started.
    patient_id: RefCell<Option<String>>,
    generation: Cell<u64>,
    mounted: RefCell<Option<Mounted>>,
}

struct Mounted {
    element: web_sys::HtmlElement,
    _handle: Box<dyn std::any::Any>,
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
        let config = BridgeConfig {
            fhir_base: options.fhir_base.clone(),
            allowed_origins: options.allowed_origins.clone(),
            memory_budget: options.memory_cache_bytes,
        };
        let bridge = ImagingBridge::new(FetchTransport::default(), &config);
        bridge.set_token(options.token.clone());
        if let Some(provider) = &options.token_provider {
            bridge.http().auth().set_provider(Some(token_provider(provider.clone())));
        }
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
                        inner.dispatch_displayed(shown);
                    }
                }),
            );
            let listeners = events::Listeners::default();
            for (event, f) in &options.callbacks {
                listeners.add(event, f.clone());
            }
            Inner {
                bridge,
                options,
                listeners,
                object_urls: RefCell::new(Vec::new()),
                fetched: RefCell::new(None),
                partition: RefCell::new(None),
                store,
                patient_id: RefCell::new(None),
                generation: Cell::new(0),
                mounted: RefCell::new(None),
            }
        });
        Ok(EmrImagingComponent { inner })
    }

    /// Renders the widget into `element` (replacing an earlier mount).
    pub fn mount(&self, element: web_sys::HtmlElement) {
        self.inner.unmount();
        let store = self.inner.store.clone();
        store.set_theme(self.inner.options.theme_mode);
        let handle = leptos::mount::mount_to(element.clone(), move || {
            leptos::prelude::view! { <App store=store /> }
        });
        if let Some(root) = element.last_element_child().and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
            for (property, value) in &self.inner.options.theme {
                let _ = root.style().set_property(property, value);
            }
        }
        *self.inner.mounted.borrow_mut() = Some(Mounted { element, _handle: Box::new(handle) });
    }

    /// Sets the bearer token: a string (null/undefined for none), or an async provider
    /// `() => Promise<string>` asked for a token before the next request that needs one and
    /// again once after a 401.
    #[wasm_bindgen(js_name = setToken)]
    pub fn set_token(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | TokenProvider | null | undefined")] token: &JsValue,
    ) -> Result<(), JsValue> {
        let auth = self.inner.bridge.http().auth();
        if let Some(f) = token.dyn_ref::<js_sys::Function>() {
            auth.set_token(None);
            auth.set_provider(Some(token_provider(f.clone())));
        } else if token.is_string() || token.is_null() || token.is_undefined() {
            auth.set_provider(None);
            auth.set_token(token.as_string());
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
        let name = events::event_name(event)
            .ok_or_else(|| ApiError::invalid_options(format!("unknown event {event:?}; one of {:?}", events::EVENTS)).into_js())?;
        let id = self.inner.listeners.add(name, listener);
        let weak = Rc::downgrade(&self.inner);
        let off = Closure::<dyn FnMut()>::new(move || {
            if let Some(inner) = weak.upgrade() {
                inner.listeners.remove(id);
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
        let generation = inner.generation.get();
        future_to_promise(async move {
            inner.ensure_token().await;
            let blob = inner.image_jpeg(&study_uid, &series_uid, &instance_uid).await.map_err(ApiError::into_js)?;
            if !inner.is_current(generation) {
                return Err(ApiError::superseded().into_js());
            }
            let url = web_sys::Url::create_object_url_with_blob(&blob)?;
            inner.object_urls.borrow_mut().push(url.clone());
            Ok(url.into())
        })
    }

    /// Shows `studies` (from `fetchStudies`) in the list, switching to their patient if needed.
    #[wasm_bindgen(js_name = renderStudyList)]
    pub fn render_study_list(&self, #[wasm_bindgen(unchecked_param_type = "Study[]")] studies: js_sys::Array) -> Result<(), JsValue> {
        let inner = self.inner.clone();
        let fetched = inner.fetched.borrow().clone();
        let Some((patient_id, known)) = fetched else {
            return Err(ApiError::not_found("renderStudyList takes studies from fetchStudies; none were fetched".into()).into_js());
        };
        let mut chosen = Vec::new();
        for item in studies.iter() {
            let uid = js_sys::Reflect::get(&item, &"studyUid".into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
            let study = known.iter().find(|s| s.study_uid == uid).cloned();
            chosen.push(study.ok_or_else(|| ApiError::not_found(format!("study {uid:?} is not among the fetched studies")).into_js())?);
        }
        if inner.patient_id.borrow().as_deref() != Some(patient_id.as_str()) || inner.store.patient.get_untracked().is_none() {
            let generation = inner.switch_patient(&patient_id);
            let for_banner = inner.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match for_banner.bridge.get_patient(&patient_id).await {
                    Ok(p) if for_banner.is_current(generation) => for_banner.store.patient.set(Some(p)),
                    Ok(_) => {}
                    Err(e) => {
                        for_banner.fail(ApiError::from(e));
                    }
                }
            });
        }
        inner.store.studies.set(chosen);
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
        let inner = self.inner.clone();
        inner.take_token(auth_token);
        let generation = inner.generation.get();
        let uid = js_sys::Reflect::get(&study, &"studyUid".into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
        future_to_promise(async move {
            inner.ensure_token().await;
            // Opening the study fills the series strip: a thumbnail of each series' middle
            // instance, each checked against the patient (the view's loader).
            inner.open_study(&uid, generation).await.map_err(ApiError::into_js)?;
            if !inner.is_current(generation) {
                return Err(ApiError::superseded().into_js());
            }
            Ok(JsValue::UNDEFINED)
        })
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
        let generation = inner.switch_patient(&patient_id);
        future_to_promise(async move {
            inner.ensure_token().await;
            inner.ensure_cache_partition(auth_token.as_deref()).await;
            inner.load_patient(patient_id, generation).await.map(|_| JsValue::UNDEFINED).map_err(ApiError::into_js)
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
        inner.take_token(auth_token);
        future_to_promise(async move {
            inner.ensure_token().await;
            let studies = inner.patient_studies(&patient_id).await.map_err(|e| ApiError::from(e).into_js())?;
            let js = to_js(&studies)?;
            *inner.fetched.borrow_mut() = Some((patient_id, studies));
            Ok(js)
        })
    }

    /// Opens a study of the current patient in the viewport.
    #[wasm_bindgen(js_name = openStudy, unchecked_return_type = "Promise<void>")]
    pub fn open_study(&self, #[wasm_bindgen(js_name = studyUid)] study_uid: String) -> js_sys::Promise {
        let inner = self.inner.clone();
        let generation = inner.generation.get();
        future_to_promise(async move {
            inner.ensure_token().await;
            inner.open_study(&study_uid, generation).await.map(|_| JsValue::UNDEFINED).map_err(ApiError::into_js)
        })
    }

    /// Drops cached images from memory and IndexedDB; resolves when both are empty.
    #[wasm_bindgen(js_name = clearCache, unchecked_return_type = "Promise<void>")]
    pub fn clear_cache(&self) -> js_sys::Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            inner.bridge.clear_cache().await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Unmounts (the widget's DOM and its listeners go), revokes every `blob:` URL it handed
    /// out, removes `on` listeners and callbacks, forgets the patient and the token, and
    /// makes pending calls resolve as superseded without touching the page.
    pub fn destroy(&self) {
        self.inner.switch_patient("");
        self.inner.unmount();
        self.inner.bridge.set_token(None);
        self.inner.bridge.http().auth().set_provider(None);
        self.inner.listeners.clear();
        self.inner.fetched.borrow_mut().take();
        *self.inner.patient_id.borrow_mut() = None;
    }

    /// Test hook: what this instance still holds (`objectUrls`, `listeners`, `mounted`).
    #[wasm_bindgen(js_name = __resources, unchecked_return_type = "{ objectUrls: number; listeners: number; mounted: boolean }")]
    pub fn resources(&self) -> JsValue {
        let o = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&o, &"objectUrls".into(), &(self.inner.object_urls.borrow().len() as u32).into());
        let _ = js_sys::Reflect::set(&o, &"listeners".into(), &(self.inner.listeners.len() as u32).into());
        let _ = js_sys::Reflect::set(&o, &"mounted".into(), &self.inner.mounted.borrow().is_some().into());
        o.into()
    }
}

/// A JS `() => Promise<string>` as the bridge's token provider.
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

fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(|e| ApiError::internal(e.to_string()).into_js())
}

impl Inner {
    /// Opens the IndexedDB tier for this FHIR server and user (memory-only when IndexedDB is
    /// unavailable or disabled). A different user gets a different partition, never the
    /// previous user's images.
    async fn ensure_cache_partition(&self, token: Option<&str>) {
        if !self.options.persistent_cache {
            return;
        }
        let user = self
            .options
            .user_id
            .clone()
            .or_else(|| token.or(self.options.token.as_deref()).and_then(crate::cache::policy::token_subject))
            .unwrap_or_else(|| "anonymous".into());
        let partition = crate::cache::policy::partition(self.bridge.fhir_base().as_str(), &user);
        if self.partition.borrow().as_deref() == Some(partition.as_str()) {
            return;
        }
        *self.partition.borrow_mut() = Some(partition.clone());
        let tier = crate::cache::idb::IdbTier::open(partition, self.options.cache_policy.clone()).await;
        self.bridge.set_persistent(tier.map(|t| Rc::new(t) as Rc<dyn crate::cache::PersistentTier>));
    }

    /// A token passed to a method replaces the current one (and any provider).
    fn take_token(&self, token: Option<String>) {
        if let Some(token) = token {
            self.bridge.http().auth().set_provider(None);
            self.bridge.set_token(Some(token));
        }
    }

    /// Asks the provider for a token when there is a provider and no token yet.
    async fn ensure_token(&self) {
        let auth = self.bridge.http().auth();
        if auth.has_provider() && !auth.has_token() {
            auth.refresh().await;
        }
    }

    /// The bridge's studies, pointed at `dicomwebBaseUrl` when the host set one.
    async fn patient_studies(&self, patient_id: &str) -> Result<Vec<Study>, BridgeError> {
        let mut studies = self.bridge.get_patient_studies(patient_id).await?;
        if let Some(base) = &self.options.dicomweb_base {
            for study in &mut studies {
                study.dicomweb_base = Some(base.to_string());
            }
        }
        Ok(studies)
    }

    /// A study of the patient in context, or of the last `fetchStudies`, with its patient id.
    fn known_study(&self, study_uid: &str) -> Option<(Option<String>, Study)> {
        if let Some(study) = self.study(study_uid) {
            return Some((self.patient_id.borrow().clone(), study));
        }
        let fetched = self.fetched.borrow();
        let (patient, studies) = fetched.as_ref()?;
        studies.iter().find(|s| s.study_uid == study_uid).map(|s| (Some(patient.clone()), s.clone()))
    }

    async fn patient(&self, patient_id: &str) -> Result<Patient, ApiError> {
        if let Some(p) = self.store.patient.get_untracked().filter(|p| p.id == patient_id) {
            return Ok(p);
        }
        Ok(self.bridge.get_patient(patient_id).await?)
    }

    /// One instance as an `image/jpeg` Blob, its identity checked against the study's patient.
    async fn image_jpeg(&self, study_uid: &str, series_uid: &str, instance_uid: &str) -> Result<web_sys::Blob, ApiError> {
        let (patient_id, study) = self.known_study(study_uid).ok_or_else(|| {
            ApiError::not_found(format!(
                "study {study_uid} is not a study of the current patient (call loadPatientImages or fetchStudies first)"
            ))
        })?;
        let patient_id = patient_id.ok_or_else(|| ApiError::internal("no patient in context".into()))?;
        let patient = self.patient(&patient_id).await?;
        if let Some(bytes) = self.bridge.server_rendered_jpeg(&study, series_uid, instance_uid, &patient).await? {
            return jpeg::blob_of(&bytes).map_err(|e| ApiError::internal(format!("{e:?}")));
        }
        let bytes = self.bridge.get_instance(&study, series_uid, instance_uid).await?;
        let image = DecodedImage::decode(&bytes)?;
        if image.header.sop_instance_uid.as_deref() != Some(instance_uid) {
            return Err(ApiError::from(RenderedError::WrongInstance {
                asked: instance_uid.to_string(),
                got: image.header.sop_instance_uid.clone(),
            }));
        }
        check_patient(&image.header, &patient).map_err(|m| ApiError::patient_mismatch(m.to_string()))?;
        jpeg::encode(&image).await.map_err(|e| ApiError::internal(format!("JPEG encoding failed: {e:?}")))
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

    /// Clears everything of the previous patient before anything else happens, and returns the
    /// generation that results must carry to be applied.
    fn switch_patient(&self, patient_id: &str) -> u64 {
        let generation = self.generation.get() + 1;
        self.generation.set(generation);
        self.store.clear_patient();
        let previous = self.patient_id.borrow_mut().replace(patient_id.to_string());
        if previous.as_deref() != Some(patient_id) {
            self.bridge.clear_memory();
            self.revoke_object_urls();
        }
        generation
    }

    fn is_current(&self, generation: u64) -> bool {
        self.generation.get() == generation
    }

    async fn load_patient(self: &Rc<Self>, patient_id: String, generation: u64) -> Result<(), ApiError> {
        self.store.status.set(Status::Loading(STRINGS.loading_studies.into()));
        let result = async {
            let (patient, studies) =
                futures_util::future::join(self.bridge.get_patient(&patient_id), self.patient_studies(&patient_id)).await;
            Ok::<_, BridgeError>((patient?, studies?))
        }
        .await;
        if !self.is_current(generation) {
            return Err(ApiError::superseded());
        }
        let (patient, studies) = result.map_err(|e| self.fail(ApiError::from(e)))?;
        self.store.patient.set(Some(patient));
        let first = studies.first().map(|s| s.study_uid.clone());
        self.store.studies.set(studies);
        match first {
            Some(uid) => self.open_study(&uid, generation).await,
            None => {
                self.store.status.set(Status::Loading(STRINGS.no_studies.into()));
                Ok(())
            }
        }
    }

    fn study(&self, study_uid: &str) -> Option<Study> {
        self.store.studies.with_untracked(|all| all.iter().find(|s| s.study_uid == study_uid).cloned())
    }

    async fn open_study(self: &Rc<Self>, study_uid: &str, generation: u64) -> Result<(), ApiError> {
        let study = self.study(study_uid).ok_or_else(|| ApiError::not_found(format!("study {study_uid} is not loaded")))?;
        self.store.selected_study.set(Some(study_uid.to_string()));
        self.emit("study-open", to_js(&study).unwrap_or(JsValue::NULL));
        self.store.image.set(None);
        self.store.blocked.set(None);
        self.store.status.set(Status::Loading(STRINGS.loading_image.into()));
        let loaded = async {
            let (series, instance) = self.bridge.first_image(&study).await?;
            let bytes = self.bridge.get_instance(&study, &series.uid, &instance.uid).await?;
            Ok::<_, BridgeError>((series, instance, bytes))
        }
        .await;
        if !self.is_current(generation) || self.store.selected_study.get_untracked().as_deref() != Some(study_uid) {
            return Err(ApiError::superseded());
        }
        let (series, instance, bytes) = loaded.map_err(|e| self.fail(ApiError::from(e)))?;
        let image = DecodedImage::decode(&bytes).map_err(|e| self.fail(ApiError::from(e)))?;
        let patient = self.store.patient.get_untracked().ok_or_else(|| ApiError::internal("no patient in context".into()))?;
        if let Err(mismatch) = check_patient(&image.header, &patient) {
            let message = format!("{} {mismatch}", STRINGS.blocked_prefix);
            self.store.blocked.set(Some(message.clone()));
            return Err(self.fail(ApiError::patient_mismatch(message)));
        }
        let window = image.default_window;
        self.store.status.set(Status::Idle);
        self.store.image.set(Some(ShownImage {
            study_uid: study.study_uid.clone(),
            series_uid: series.uid.clone(),
            instance_uid: instance.uid,
            image: Arc::new(image),
            window,
        }));
        // The rest of the series, the reports and the thumbnails (the view's loader). A later
        // instance of another patient rejects the call like the first would have; other failures
        // of later instances are reported (event and status) while the shown image stays.
        use crate::view::loader::LoadError;
        match crate::view::loader::after_first_image(&self.bridge, &self.store, &study, &series.uid, &|| self.is_current(generation)).await
        {
            Ok(()) | Err(LoadError::Superseded) => Ok(()),
            Err(LoadError::Mismatch(message)) => Err(self.fail(ApiError::patient_mismatch(message))),
            Err(LoadError::Bridge(e)) => {
                self.fail(ApiError::from(e));
                Ok(())
            }
            Err(LoadError::Imaging(e)) => {
                self.fail(ApiError::from(e));
                Ok(())
            }
            Err(e @ LoadError::UnknownSeries(_)) => {
                self.fail(ApiError::internal(e.to_string()));
                Ok(())
            }
        }
    }

    /// Shows an error in the widget and on the host element, and hands it back for the Promise.
    fn fail(&self, error: ApiError) -> ApiError {
        self.store.status.set(Status::Error(error.message.clone()));
        self.emit("error", error.to_js_object());
        error
    }

    fn handle(self: &Rc<Self>, action: Action) {
        match action {
            Action::OpenStudy(uid) => {
                let inner = self.clone();
                let generation = self.generation.get();
                wasm_bindgen_futures::spawn_local(async move {
                    inner.ensure_token().await;
                    // Failures are already shown and dispatched by `fail`.
                    let _ = inner.open_study(&uid, generation).await;
                });
            }
            Action::OpenSeries(series_uid) => {
                let inner = self.clone();
                let generation = self.generation.get();
                let Some(study) = self.store.selected_study.get_untracked().and_then(|uid| self.study(&uid)) else { return };
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = crate::view::loader::open_series(&inner.bridge, &inner.store, &study, &series_uid, &|| {
                        inner.is_current(generation)
                    })
                    .await;
                });
            }
        }
    }

    fn dispatch_displayed(&self, shown: &ShownImage) {
        let detail = js_sys::Object::new();
        let set = |k: &str, v: &str| {
            let _ = js_sys::Reflect::set(&detail, &k.into(), &v.into());
        };
        set("studyUid", &shown.study_uid);
        set("seriesUid", &shown.series_uid);
        set("instanceUid", &shown.instance_uid);
        let _ = js_sys::Reflect::set(&detail, &"lossy".into(), &shown.image.header.lossy.into());
        self.emit("image-displayed", detail.into());
    }

    /// To `on` listeners and option callbacks, then as a DOM event on the mount element.
    fn emit(&self, event: &'static str, detail: JsValue) {
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
