//! The JS face: `EMRImagingComponent` (DESIGN.md §3).
//!
//! Async methods return Promises built from cloned `Rc` state, never from `&self` futures: a JS
//! caller may call another method while one is pending. Every load carries a generation number;
//! results of a load that a newer patient switch superseded are dropped, so the previous
//! patient's data can never reappear.

mod error;
mod options;

use crate::bridge::{BridgeConfig, BridgeError, ImagingBridge, Study};
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
    pub fn new(options: JsValue) -> Result<EmrImagingComponent, JsValue> {
        let options = Options::from_js(options)?;
        let config = BridgeConfig {
            fhir_base: options.fhir_base.clone(),
            allowed_origins: options.allowed_origins.clone(),
            memory_budget: options.memory_cache_bytes,
        };
        let bridge = ImagingBridge::new(FetchTransport, &config);
        bridge.set_token(options.token.clone());
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
            Inner {
                bridge,
                options,
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
        let handle = leptos::mount::mount_to(element.clone(), move || {
            leptos::prelude::view! { <App store=store /> }
        });
        *self.inner.mounted.borrow_mut() = Some(Mounted { element, _handle: Box::new(handle) });
    }

    /// Replaces the bearer token (a string, or null/undefined for none).
    #[wasm_bindgen(js_name = setToken)]
    pub fn set_token(&self, token: Option<String>) {
        self.inner.bridge.set_token(token);
    }

    /// Fetches the patient's studies, shows the list and the first image of the newest study.
    /// Switching patient clears the previous patient's images at once.
    #[wasm_bindgen(js_name = loadPatientImages)]
    pub fn load_patient_images(&self, patient_id: String, auth_token: Option<String>) -> js_sys::Promise {
        let inner = self.inner.clone();
        if let Some(token) = &auth_token {
            inner.bridge.set_token(Some(token.clone()));
        }
        let generation = inner.switch_patient(&patient_id);
        future_to_promise(async move {
            inner.ensure_cache_partition(auth_token.as_deref()).await;
            inner.load_patient(patient_id, generation).await.map(|_| JsValue::UNDEFINED).map_err(ApiError::into_js)
        })
    }

    /// The patient's studies (FHIR + DICOMweb), as plain objects; does not touch the view.
    #[wasm_bindgen(js_name = fetchStudies)]
    pub fn fetch_studies(&self, patient_id: String, auth_token: Option<String>) -> js_sys::Promise {
        let inner = self.inner.clone();
        if let Some(token) = auth_token {
            inner.bridge.set_token(Some(token));
        }
        future_to_promise(async move {
            let studies = inner.bridge.get_patient_studies(&patient_id).await.map_err(|e| ApiError::from(e).into_js())?;
            to_js(&studies)
        })
    }

    /// Opens a study of the current patient in the viewport.
    #[wasm_bindgen(js_name = openStudy)]
    pub fn open_study(&self, study_uid: String) -> js_sys::Promise {
        let inner = self.inner.clone();
        let generation = inner.generation.get();
        future_to_promise(async move {
            inner.open_study(&study_uid, generation).await.map(|_| JsValue::UNDEFINED).map_err(ApiError::into_js)
        })
    }

    /// Drops cached images from memory and IndexedDB; resolves when both are empty.
    #[wasm_bindgen(js_name = clearCache)]
    pub fn clear_cache(&self) -> js_sys::Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            inner.bridge.clear_cache().await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Unmounts, forgets the patient and the token, and drops cached images.
    pub fn destroy(&self) {
        self.inner.switch_patient("");
        self.inner.unmount();
        self.inner.bridge.set_token(None);
        *self.inner.patient_id.borrow_mut() = None;
    }
}

fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| ApiError::internal(e.to_string()).into_js())
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
                futures_util::future::join(self.bridge.get_patient(&patient_id), self.bridge.get_patient_studies(&patient_id)).await;
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
        let window = image.default_window.clone();
        self.store.status.set(Status::Idle);
        self.store.image.set(Some(ShownImage {
            study_uid: study.study_uid.clone(),
            series_uid: series.uid.clone(),
            instance_uid: instance.uid,
            image: Arc::new(image),
            window,
        }));
        // The rest of the series, the reports and the thumbnails (the view's loader).
        let _ = crate::view::loader::after_first_image(&self.bridge, &self.store, &study, &series.uid, &|| self.is_current(generation)).await;
        Ok(())
    }

    /// Shows an error in the widget and on the host element, and hands it back for the Promise.
    fn fail(&self, error: ApiError) -> ApiError {
        self.store.status.set(Status::Error(error.message.clone()));
        self.dispatch("emr-imaging:error", error.to_js_object());
        error
    }

    fn handle(self: &Rc<Self>, action: Action) {
        match action {
            Action::OpenStudy(uid) => {
                let inner = self.clone();
                let generation = self.generation.get();
                wasm_bindgen_futures::spawn_local(async move {
                    // Failures are already shown and dispatched by `fail`.
                    let _ = inner.open_study(&uid, generation).await;
                });
            }
            Action::OpenSeries(series_uid) => {
                let inner = self.clone();
                let generation = self.generation.get();
                let Some(study) = self.store.selected_study.get_untracked().and_then(|uid| self.study(&uid)) else { return };
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = crate::view::loader::open_series(&inner.bridge, &inner.store, &study, &series_uid, &|| inner.is_current(generation)).await;
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
        self.dispatch("emr-imaging:image-displayed", detail.into());
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
