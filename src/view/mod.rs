//! The leptos view: PatientBanner, StudyList, Viewport and Status.
//!
//! The view only reads [`Store`] signals and reports user intent through [`Store::actions`]; it
//! never fetches. Pixels are windowed here from an already decoded frame, so a new window
//! never refetches.

mod strings;
mod style;

use crate::bridge::{Source, Study};
use crate::fhir::Patient;
use crate::imaging::DecodedImage;
use dicom_parser_lite::transform::Window;
use leptos::prelude::*;
use std::sync::Arc;
use wasm_bindgen::{Clamped, JsCast};

pub use strings::STRINGS;

/// What is on screen right now.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Idle,
    Loading(String),
    Error(String),
}

/// An image ready to draw, with the identity it was proven to belong to.
#[derive(Debug, Clone)]
pub struct ShownImage {
    pub study_uid: String,
    pub series_uid: String,
    pub instance_uid: String,
    pub image: Arc<DecodedImage>,
    pub window: Window,
}

/// Intents the view reports to its owner.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    OpenStudy(String),
}

/// Sink for [`Action`]s. The owner lives on the one browser thread; the wrapper only satisfies
/// leptos's `Send` bounds.
pub type ActionSink = Arc<send_wrapper::SendWrapper<Box<dyn Fn(Action)>>>;
/// Called after an image has been drawn (for the `image-displayed` event).
pub type DisplayedSink = Arc<send_wrapper::SendWrapper<Box<dyn Fn(&ShownImage)>>>;

/// All view state. Cloning shares the same signals.
#[derive(Clone)]
pub struct Store {
    pub patient: ArcRwSignal<Option<Patient>>,
    pub studies: ArcRwSignal<Vec<Study>>,
    pub selected_study: ArcRwSignal<Option<String>>,
    pub status: ArcRwSignal<Status>,
    pub image: ArcRwSignal<Option<ShownImage>>,
    /// Set when an image was withheld because it is not this patient's.
    pub blocked: ArcRwSignal<Option<String>>,
    pub actions: ActionSink,
    pub displayed: DisplayedSink,
}

impl Store {
    pub fn new(actions: Box<dyn Fn(Action)>, displayed: Box<dyn Fn(&ShownImage)>) -> Self {
        Store {
            patient: ArcRwSignal::new(None),
            studies: ArcRwSignal::new(Vec::new()),
            selected_study: ArcRwSignal::new(None),
            status: ArcRwSignal::new(Status::Idle),
            image: ArcRwSignal::new(None),
            blocked: ArcRwSignal::new(None),
            actions: Arc::new(send_wrapper::SendWrapper::new(actions)),
            displayed: Arc::new(send_wrapper::SendWrapper::new(displayed)),
        }
    }

    /// Forgets everything about the current patient, synchronously: called first on a switch.
    pub fn clear_patient(&self) {
        self.image.set(None);
        self.blocked.set(None);
        self.studies.set(Vec::new());
        self.selected_study.set(None);
        self.patient.set(None);
        self.status.set(Status::Idle);
    }
}

/// The whole widget.
#[component]
pub fn App(store: Store) -> impl IntoView {
    view! {
        <div class="emr-imaging" role="region" aria-label=STRINGS.region_label>
            <style>{style::CSS}</style>
            <PatientBanner store=store.clone() />
            <div class="emr-body">
                <StudyList store=store.clone() />
                <Viewport store=store.clone() />
            </div>
            <StatusLine store=store />
        </div>
    }
}

#[component]
fn PatientBanner(store: Store) -> impl IntoView {
    let patient = store.patient.clone();
    view! {
        <div class="emr-banner" role="banner" data-testid="patient-banner">
            {move || match patient.get() {
                Some(p) => {
                    let ids = p.identifiers.join(", ");
                    let born = p.birth_date.clone().unwrap_or_default();
                    view! {
                        <span class="emr-banner-name">{p.display_name()}</span>
                        <span class="emr-banner-id">{format!("{} {ids}", STRINGS.patient_id)}</span>
                        <span class="emr-banner-dob">{format!("{} {born}", STRINGS.born)}</span>
                    }
                        .into_any()
                }
                None => view! { <span class="emr-banner-none">{STRINGS.no_patient}</span> }.into_any(),
            }}
        </div>
    }
}

fn source_label(source: &Source) -> &'static str {
    match source {
        Source::FhirOnly => STRINGS.source_fhir_only,
        Source::Enriched => STRINGS.source_enriched,
        Source::NoEndpoint => STRINGS.source_no_endpoint,
        Source::PacsUnreachable { .. } => STRINGS.source_unreachable,
    }
}

/// `2011-01-01T11:01:20+03:00` → `2011-01-01`; anything else as given.
fn date_of(started: &Option<String>) -> String {
    started.as_deref().map(|s| s.get(..10).unwrap_or(s).to_string()).unwrap_or_default()
}

#[component]
fn StudyList(store: Store) -> impl IntoView {
    let studies = store.studies.clone();
    let selected = store.selected_study.clone();
    let actions = store.actions.clone();
    view! {
        <ul class="emr-study-list" role="listbox" aria-label=STRINGS.studies_label data-testid="study-list">
            <For
                each=move || studies.get()
                key=|study| study.study_uid.clone()
                children=move |study: Study| {
                    let uid = study.study_uid.clone();
                    let uid_for_click = uid.clone();
                    let uid_for_key = uid.clone();
                    let actions_click = actions.clone();
                    let actions_key = actions.clone();
                    let selected = selected.clone();
                    let is_selected = move || selected.get().as_deref() == Some(uid.as_str());
                    let counts = format!(
                        "{} {} · {} {}",
                        study.number_of_series.map(|n| n.to_string()).unwrap_or_else(|| "?".into()),
                        STRINGS.series,
                        study.number_of_instances.map(|n| n.to_string()).unwrap_or_else(|| "?".into()),
                        STRINGS.images,
                    );
                    view! {
                        <li
                            class="emr-study"
                            role="option"
                            tabindex="0"
                            aria-selected=move || is_selected().to_string()
                            data-study-uid=study.study_uid.clone()
                            on:click=move |_| (actions_click)(Action::OpenStudy(uid_for_click.clone()))
                            on:keydown=move |ev: web_sys::KeyboardEvent| {
                                if ev.key() == "Enter" || ev.key() == " " {
                                    ev.prevent_default();
                                    (actions_key)(Action::OpenStudy(uid_for_key.clone()));
                                }
                            }
                        >
                            <span class="emr-study-date">{date_of(&study.started)}</span>
                            <span class="emr-study-modality">{study.modalities.join("/")}</span>
                            <span class="emr-study-desc">{study.description.clone().unwrap_or_default()}</span>
                            <span class="emr-study-acc">{study.accession.clone().unwrap_or_default()}</span>
                            <span class="emr-study-counts">{counts}</span>
                            <span class="emr-study-source">{source_label(&study.source)}</span>
                        </li>
                    }
                }
            />
        </ul>
    }
}

#[component]
fn Viewport(store: Store) -> impl IntoView {
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let image = store.image.clone();
    let displayed = store.displayed.clone();
    Effect::new(move |_| {
        let shown = image.get();
        let Some(el) = canvas.get() else { return };
        match shown {
            Some(shown) => {
                if draw(&el, &shown).is_ok() {
                    (displayed)(&shown);
                }
            }
            None => {
                // Patient switch or error: nothing of the previous image may stay visible.
                el.set_width(0);
                el.set_height(0);
            }
        }
    });
    let overlay_image = store.image.clone();
    let blocked = store.blocked.clone();
    view! {
        <div class="emr-viewport" data-testid="viewport">
            <canvas node_ref=canvas class="emr-canvas" data-testid="viewport-canvas" aria-label=STRINGS.image_label></canvas>
            {move || overlay_image.get().map(|s| {
                let h = &s.image.header;
                let lossy = h.lossy.then(|| view! { <span class="emr-lossy" role="note">{STRINGS.lossy}</span> });
                view! {
                    <div class="emr-overlay" data-testid="overlay">
                        <span>{h.patient_name.clone().unwrap_or_default()}</span>
                        <span>{format!("{} {}", STRINGS.image_number, h.instance_number.map(|n| n.to_string()).unwrap_or_default())}</span>
                        <span>{format!("W {:.0} L {:.0}", s.window.width, s.window.center)}</span>
                        {lossy}
                    </div>
                }
            })}
            {move || blocked.get().map(|why| view! {
                <div class="emr-blocked" role="alert" data-testid="blocked">{why}</div>
            })}
        </div>
    }
}

fn draw(el: &web_sys::HtmlCanvasElement, shown: &ShownImage) -> Result<(), wasm_bindgen::JsValue> {
    let mut rgba = Vec::new();
    shown.image.render_rgba(&shown.window, &mut rgba).map_err(|e| wasm_bindgen::JsValue::from_str(&e.to_string()))?;
    let (w, h) = (shown.image.columns(), shown.image.rows());
    el.set_width(w);
    el.set_height(h);
    let ctx = el
        .get_context("2d")?
        .ok_or_else(|| wasm_bindgen::JsValue::from_str("no 2d context"))?
        .dyn_into::<web_sys::CanvasRenderingContext2d>()?;
    let data = web_sys::ImageData::new_with_u8_clamped_array_and_sh(Clamped(&rgba), w, h)?;
    ctx.put_image_data(&data, 0.0, 0.0)
}

#[component]
fn StatusLine(store: Store) -> impl IntoView {
    let status = store.status.clone();
    view! {
        <div class="emr-status" role="status" aria-live="polite" data-testid="status">
            {move || match status.get() {
                Status::Idle => String::new(),
                Status::Loading(what) => what,
                Status::Error(message) => format!("{} {message}", STRINGS.error_prefix),
            }}
        </div>
    }
}
