//! The leptos view: PatientBanner, StudyList, SeriesStrip, Viewport, ReportPanel, UploadPanel
//! and Status.
//!
//! The view reads [`Store`] signals and reports user intent through [`Store::actions`]. It
//! fetches nothing: the session decides what to show and says so in updates the store applies
//! (`Store::apply`). Pixels are windowed here from already decoded, verified frames, so
//! scrolling and a new window never refetch.
//!
//! [`logic`] (list order, filters, keys, overlay text) is pure and compiled natively for tests.

pub mod logic;
mod strings;

pub use strings::{Locale, Strings, EN};

/// How a session error reads in the host's error (English: hosts log it): a withheld image
/// says that it was blocked, and why.
pub fn error_message(error: &crate::session::SessionError) -> String {
    match error {
        crate::session::SessionError::WrongPatient(mismatch) => format!("{} {mismatch}", EN.blocked_prefix),
        other => other.to_string(),
    }
}

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod compare;
#[cfg(target_arch = "wasm32")]
mod draw;
#[cfg(target_arch = "wasm32")]
mod folder;
#[cfg(target_arch = "wasm32")]
mod measure_layer;
#[cfg(target_arch = "wasm32")]
mod reports;
#[cfg(target_arch = "wasm32")]
mod series_strip;
#[cfg(target_arch = "wasm32")]
mod store;
#[cfg(target_arch = "wasm32")]
mod study_list;
#[cfg(target_arch = "wasm32")]
mod style;
#[cfg(target_arch = "wasm32")]
mod upload_panel;
#[cfg(target_arch = "wasm32")]
mod viewport;

#[cfg(target_arch = "wasm32")]
pub use app::App;
#[cfg(target_arch = "wasm32")]
pub use store::*;
