//! What the session tells the view, as values (DESIGN §2: events flow back only as values).
//!
//! The view applies each [`Update`] to its own state and never decides what to load; the api
//! turns a few of them (a study opened, a failure) into host events as well. A native test
//! records them to check the clinical rules without a browser.

use super::SessionError;
use crate::bridge::Study;
use crate::fhir::report::DiagnosticReport;
use crate::fhir::Patient;
use crate::imaging::{IdentityMismatch, PatientContext, VerifiedImage};
use std::sync::Arc;

/// Where the session's answers go: the leptos store in the browser, a recorder in tests.
pub trait Screen {
    fn apply(&self, update: Update);
    /// A failure the user and the host must hear of (status line and error event). Lent, not
    /// sent as an [`Update`]: the caller gets the error back too.
    fn failed(&self, error: &SessionError);
}

impl<S: Screen + ?Sized> Screen for std::rc::Rc<S> {
    fn apply(&self, update: Update) {
        (**self).apply(update)
    }
    fn failed(&self, error: &SessionError) {
        (**self).failed(error)
    }
}

/// What the status line says.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Idle,
    Loading(Activity),
    /// Loading, and the server has not answered within the session's patience: the status
    /// names the server waited for (FHIR for studies, DICOMweb for an image).
    Waiting(Activity),
    /// The search answered with no study.
    NoStudies,
    Error(String),
}

/// What the session is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    Studies,
    Image,
}

/// The study's DiagnosticReports beside the images.
#[derive(Debug, Clone, PartialEq)]
pub enum Reports {
    Idle,
    Loading,
    Loaded(Vec<DiagnosticReport>),
    Failed(String),
}

/// A verified image for the viewport, with where it comes from.
#[derive(Debug, Clone)]
pub struct Shown {
    pub study_uid: String,
    pub series_uid: String,
    pub instance_uid: String,
    pub image: VerifiedImage,
}

/// A series of the selected study, as the strip shows it: listed before anything is loaded,
/// then its progress and thumbnail as they come.
#[derive(Debug, Clone)]
pub struct SeriesItem {
    pub uid: String,
    pub number: Option<u32>,
    pub modality: Option<String>,
    pub description: Option<String>,
    pub count: Option<u32>,
    /// Images, or a document series listed for what it is (never drawn as an image).
    pub kind: crate::bridge::SeriesKind,
    /// The middle image, verified, when it has been decoded.
    pub thumb: Option<VerifiedImage>,
    pub loaded: usize,
    pub total: usize,
}

/// One change to what is on screen. Applied in order.
#[derive(Debug, Clone)]
pub enum Update {
    /// Everything on screen goes, at once and before anything else. `patient_changed`: another
    /// patient (or none) follows, so what was handed out for the previous one goes too.
    Cleared {
        patient_changed: bool,
    },
    /// The patient in context (banner) and the identity every image is checked against.
    Patient {
        patient: Patient,
        context: Arc<PatientContext>,
    },
    Studies(Vec<Study>),
    /// A study became the selected one: its image, block and reports are reset.
    StudyOpened(Box<Study>),
    Status(Status),
    /// An image was not this patient's: everything drawn goes and the reason is shown.
    Blocked(IdentityMismatch),
    /// The viewport shows this image.
    Image(Shown),
    /// The strip's series, in display order.
    Series(Vec<SeriesItem>),
    SeriesProgress {
        series_uid: String,
        loaded: usize,
        total: usize,
    },
    /// Every instance of a series is in: decoded into the stack, or in the cache when fetched
    /// ahead. The host hears of it (`series-loaded`); the view only ends its progress bar.
    SeriesLoaded {
        study_uid: String,
        series_uid: String,
        instances: usize,
        /// Part 10 bytes of those instances.
        bytes: u64,
        /// From the series' first request to its last instance.
        ms: f64,
    },
    /// A series' thumbnail, unless it has one already; `total` raises its instance count.
    Thumbnail {
        series_uid: String,
        image: VerifiedImage,
        total: Option<usize>,
    },
    /// A new stack starts filling. `fresh_view`: the user chose another series, so zoom, pan
    /// and window go back to the image's own.
    StackStarted {
        study_uid: String,
        series_uid: String,
        fresh_view: bool,
    },
    StackTotal(usize),
    /// A frame of the stack. `position`: its instance's place in the series' display order;
    /// instances come in any order (the slice the user went to first), the frames of a
    /// multi-frame instance one after another.
    StackFrame {
        instance_uid: String,
        image: VerifiedImage,
        position: usize,
    },
    /// Every frame of one more instance is in the stack.
    StackInstanceDone,
    /// Show frame `index` of the stack.
    ShowFrame(usize),
    /// A multi-frame instance's own frame rate, for cine.
    FrameRate(u32),
    Reports(Reports),
    /// Studies that appeared in a refreshed list: announced, never opened (the viewport stays).
    NewStudies(Vec<String>),
    /// The images (series, SOP Instance UID) the open study's Key Object Selections name.
    KeyImages(Vec<(String, String)>),
    /// Whether studies open as their key images only.
    KeyImagesOnly(bool),
    /// The structured reports shown beside the images, or none. A study opened or a patient
    /// cleared closes them too.
    StructuredReports(Option<super::OpenedReports>),
    /// The presentation state the images are shown with, or none. A study opened, a patient
    /// cleared or a series it does not name removes it too.
    PresentationState(Option<std::sync::Arc<super::AppliedState>>),
    /// The second viewport of a comparison with a prior.
    Comparison(super::Comparison),
}
