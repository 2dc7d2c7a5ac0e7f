//! Events out: `on(name, fn)` listeners, the option callbacks, and bubbling DOM events on the
//! mount element, all fed from one `emit`.

use crate::wire::wire_enum;
use serde::Serialize;

wire_enum! {
    /// The events the component emits (names without the `emr-imaging:` DOM prefix).
    pub enum Event {
        ImageDisplayed = "image-displayed",
        Error = "error",
        StudyOpen = "study-open",
        /// An access, as a FHIR AuditEvent.
        Audit = "audit",
        /// A FHIRcast event was followed (or refused): `{event, id, context, status}`.
        Context = "context",
        /// An uploaded file's outcome: the server's answer for it, or why it was not sent.
        Upload = "upload",
        /// Every instance of a series is in (the open series decoded, another fetched ahead):
        /// `{studyUid, seriesUid, instances, bytes, ms}`, for hosts and benchmarks to measure.
        SeriesLoaded = "series-loaded",
    }
}

pub const DOM_PREFIX: &str = "emr-imaging:";

impl Event {
    /// `"error"` or `"emr-imaging:error"` → [`Event::Error`].
    pub fn from_name(name: &str) -> Option<Event> {
        Event::parse(name.strip_prefix(DOM_PREFIX).unwrap_or(name))
    }
}

/// The detail of [`Event::ImageDisplayed`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageDisplayed<'a> {
    pub study_uid: &'a str,
    pub series_uid: &'a str,
    pub instance_uid: &'a str,
    /// The pixels passed through lossy compression (marked in the viewport too).
    pub lossy: bool,
}

/// The detail of [`Event::SeriesLoaded`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeriesLoadedDetail<'a> {
    pub study_uid: &'a str,
    pub series_uid: &'a str,
    /// Instances loaded (fewer than the series holds when the stack's memory budget ended it).
    pub instances: usize,
    /// Part 10 bytes of those instances, wherever they came from (network or cache).
    pub bytes: u64,
    /// From the series' first request to its last instance.
    pub ms: f64,
}

/// The detail of [`Event::Upload`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadDetail<'a> {
    /// The name the user gave (a folder's relative path).
    pub name: &'a str,
    pub sop_instance_uid: Option<&'a str>,
    pub study_uid: Option<&'a str>,
    /// An [`UploadOutcome`].
    pub outcome: &'static str,
    /// The server's WarningReason or FailureReason.
    pub code: Option<u32>,
    /// Why a file was not sent (another patient's, not DICOM).
    pub reason: Option<&'a str>,
}

wire_enum! {
    /// What became of an uploaded file.
    pub enum UploadOutcome {
        Stored = "stored",
        Warning = "warning",
        AlreadyPresent = "already-present",
        Failed = "failed",
        Refused = "refused",
    }
}

impl UploadOutcome {
    /// The outcome of a file the server answered for, and its code; `None` for one to resend.
    pub fn of(outcome: &crate::upload::stow::InstanceOutcome) -> Option<(UploadOutcome, Option<u32>)> {
        use crate::upload::stow::InstanceOutcome as O;
        match outcome {
            O::Stored { warning: None } => Some((UploadOutcome::Stored, None)),
            O::Stored { warning } => Some((UploadOutcome::Warning, *warning)),
            O::AlreadyPresent => Some((UploadOutcome::AlreadyPresent, None)),
            O::Failed { reason } => Some((UploadOutcome::Failed, *reason)),
            O::Retry => None,
        }
    }
}

#[cfg(target_arch = "wasm32")]
pub use listeners::Listeners;

#[cfg(target_arch = "wasm32")]
mod listeners {
    use super::Event;
    use std::cell::{Cell, RefCell};
    use wasm_bindgen::JsValue;

    #[derive(Default)]
    pub struct Listeners {
        next_id: Cell<u64>,
        entries: RefCell<Vec<(u64, Event, js_sys::Function)>>,
    }

    impl Listeners {
        pub fn add(&self, event: Event, f: js_sys::Function) -> u64 {
            let id = self.next_id.get() + 1;
            self.next_id.set(id);
            self.entries.borrow_mut().push((id, event, f));
            id
        }

        pub fn remove(&self, id: u64) {
            self.entries.borrow_mut().retain(|(i, _, _)| *i != id);
        }

        pub fn clear(&self) {
            self.entries.borrow_mut().clear();
        }

        /// Calls each listener of `event` with `detail`. A listener that throws does not stop the
        /// others, and its exception is not ours to report.
        pub fn call(&self, event: Event, detail: &JsValue) {
            // Cloned first: a listener may unsubscribe (or subscribe) while being called.
            let targets: Vec<js_sys::Function> =
                self.entries.borrow().iter().filter(|(_, e, _)| *e == event).map(|(_, _, f)| f.clone()).collect();
            for f in targets {
                let _ = f.call1(&JsValue::UNDEFINED, detail);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_or_without_the_dom_prefix() {
        assert_eq!(Event::from_name("error"), Some(Event::Error));
        assert_eq!(Event::from_name("emr-imaging:study-open"), Some(Event::StudyOpen));
        assert_eq!(Event::from_name("emr-imaging:"), None);
        assert_eq!(Event::from_name("Error"), None);
        for event in Event::ALL {
            assert_eq!(Event::from_name(&format!("{DOM_PREFIX}{event}")), Some(*event));
        }
    }
}
