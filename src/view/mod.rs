//! The leptos view: PatientBanner, StudyList, SeriesStrip, Viewport, ReportPanel and Status.
//!
//! The view reads [`Store`] signals and reports user intent through [`Store::actions`]. Pixels
//! are windowed here from already decoded frames, so scrolling and a new window never refetch.
//! The one place that fetches on the view's behalf is [`loader`], called by the api: it fills
//! the stack in display order, checking every image against the patient in context.
//!
//! [`logic`] (list order, filters, keys, overlay text) is pure and compiled natively for tests.

pub mod logic;
mod strings;

pub use strings::STRINGS;

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod draw;
#[cfg(target_arch = "wasm32")]
pub mod loader;
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
mod viewport;

#[cfg(target_arch = "wasm32")]
pub use app::App;
#[cfg(target_arch = "wasm32")]
pub use store::*;
