//! The widget's frame: banner (always visible), study list, series strip, viewport, reports.

use super::compare::Panes;
use super::reports::ReportPanel;
use super::series_strip::SeriesStrip;
use super::store::{Activity, Status, Store};
use super::study_list::StudyList;
use super::style;
use super::upload_panel::UploadPanel;
use leptos::either::Either;
use leptos::prelude::*;

/// The whole widget. Everything it draws is under one `.emr-imaging` element whose styles are
/// scoped to it; `data-theme` picks light, dark or the host's colour scheme.
#[component]
pub fn App(store: Store) -> impl IntoView {
    let t = store.strings();
    let theme = store.theme.clone();
    view! {
        <div class="emr-imaging" role="region" aria-label=t.region_label data-theme=move || theme.get().attr()>
            <style>{style::CSS}</style>
            <PatientBanner store=store.clone() />
            <div class="emr-body">
                <StudyList store=store.clone() />
                <div class="emr-center">
                    <SeriesStrip store=store.clone() />
                    <Panes store=store.clone() />
                </div>
                <ReportPanel store=store.clone() />
            </div>
            <UploadPanel store=store.clone() />
            <StatusLine store=store />
        </div>
    }
}

#[component]
fn PatientBanner(store: Store) -> impl IntoView {
    let t = store.strings();
    let locale = store.locale();
    let patient = store.patient.clone();
    view! {
        <div class="emr-banner" role="banner" data-testid="patient-banner">
            {move || match patient.get() {
                Some(p) => Either::Left({
                    let ids = p.identifiers.join(", ");
                    let born = p.birth_date.clone().unwrap_or_default();
                    view! {
                        <span class="emr-banner-name">{p.display_name()}</span>
                        <span class="emr-banner-id">{format!("{} {ids}", t.patient_id)}</span>
                        <span class="emr-banner-dob">{format!("{} {}", t.born, locale.date(&born))}</span>
                    }
                }),
                None => Either::Right(view! { <span class="emr-banner-none">{t.no_patient}</span> }),
            }}
        </div>
    }
}

#[component]
fn StatusLine(store: Store) -> impl IntoView {
    let t = store.strings();
    let status = store.status.clone();
    view! {
        <div class="emr-status" role="status" aria-live="polite" data-testid="status">
            {move || match status.get() {
                Status::Idle => String::new(),
                Status::Loading(Activity::Studies) => t.loading_studies.to_string(),
                Status::Loading(Activity::Image) => t.loading_image.to_string(),
                Status::Waiting(Activity::Studies) => t.waiting_fhir.to_string(),
                Status::Waiting(Activity::Image) => t.waiting_images.to_string(),
                Status::NoStudies => t.no_studies.to_string(),
                Status::Error(message) => format!("{} {message}", t.error_prefix),
            }}
        </div>
    }
}
