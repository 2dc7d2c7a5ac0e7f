//! Images that start in the EMR: a CD's files, a folder, a ward photo, sent to the PACS with
//! STOW-RS. Platform-free: the browser reads the files and keeps the queue; what a file is,
//! whether it is this patient's, how files are batched and what the server's answer means
//! per instance are decided here and tested natively.
//!
//! - [`LocalFile`]: a dropped file parsed locally, checked against the patient in context
//!   (a mismatch is refused with its reason and never sent).
//! - [`dicomdir`]: the files a CD's DICOMDIR names.
//! - [`photo`]: a JPEG (kept as JPEG Baseline, not re-encoded) or decoded PNG pixels
//!   (lossless) as a VL Photographic Image of the patient.
//! - [`stow`]: bounded multipart batches and each instance's outcome (stored, already
//!   present, warning, failed, to retry).
//! - [`queue`]: the resumable queue's run; [`idb`] keeps it in IndexedDB in the browser.
//! - [`intake`]: what the panel lists, per file and per study.

pub mod dicomdir;
#[cfg(target_arch = "wasm32")]
pub mod idb;
pub mod intake;
mod local;
pub mod photo;
pub mod queue;
pub mod stow;
mod uid;
mod writer;

pub use local::{LocalFile, Refusal};
pub use uid::uid_from_random;

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum UploadError {
    #[error("{name} is not a DICOM file: {reason}")]
    NotDicom { name: String, reason: String },
    #[error("{name} lacks {what}")]
    Missing { name: String, what: &'static str },
    #[error("the photo is not a JPEG this can keep as it is: {0}")]
    Jpeg(String),
    #[error("the picture's pixels do not match its size ({got} bytes for {width}×{height} RGB)")]
    Pixels { got: usize, width: u32, height: u32 },
    #[error("the DICOMDIR cannot be read: {0}")]
    Dicomdir(String),
}
#[cfg(test)]
mod tests;
