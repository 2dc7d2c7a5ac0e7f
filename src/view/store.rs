//! All view state as signals. Cloning a [`Store`] shares the same signals.
//!
//! The session decides what is shown and says so through [`Update`]s ([`Store::apply`]); the
//! user's own view of the image (slice, window, zoom, pan, tool) changes here.

use crate::bridge::Study;
use crate::fhir::Patient;
use crate::imaging::geometry;
use crate::imaging::measure::{clean_text, MeasureKind, MeasuredValues, Measurement, Point};
use crate::imaging::presentation_state::{area_view, Applied, SpatialTransform};
use crate::imaging::voi_lut::{Voi, VoiTable};
use crate::imaging::{PatientContext, VerifiedImage};
pub use crate::session::{Activity, AppliedState, Reports, SeriesItem, Status};
use crate::session::{ScrollLink, Side, SliceGeometry, Update as Change};
use dicom_parser_lite::transform::Window;
use leptos::prelude::*;
use std::sync::Arc;

/// An image ready to draw: verified for the patient in context, under a window.
#[derive(Debug, Clone)]
pub struct ShownImage {
    pub study_uid: String,
    pub series_uid: String,
    pub instance_uid: String,
    pub image: VerifiedImage,
    pub window: Window,
    /// A VOI LUT table in force instead of `window` (the image's own, or a presentation
    /// state's), until the user picks a window.
    pub table: Option<Arc<VoiTable>>,
}

impl ShownImage {
    /// The VOI transform to draw with.
    pub fn voi(&self) -> Voi {
        match &self.table {
            Some(table) => Voi::Table(table.clone()),
            None => Voi::Window(self.window),
        }
    }
}

/// Intents the view reports to its owner.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    OpenStudy(String),
    /// A series of the selected study, from the series strip.
    OpenSeries(String),
    /// Studies as their key images only, or all images.
    KeyImagesOnly(bool),
    /// An SR series of the selected study, read and shown beside the images.
    OpenStructuredReports(String),
    CloseStructuredReports,
    /// A PR series of the selected study: its presentation state is applied.
    ApplyPresentationState(String),
    RemovePresentationState,
    /// A listed study shown beside the open one.
    Compare(String),
    CloseComparison,
    /// Files given to the upload panel (dropped, picked, a folder, the camera), each with
    /// its name or path in the folder.
    UploadFiles(Vec<(String, web_sys::File)>),
    /// A study of the listed files is to be sent, or not.
    UploadChoose(String, bool),
    /// The ready files of the chosen studies go into the queue.
    UploadSend,
    /// The body site new photos get (an index of `upload::photo::BODY_SITES`).
    UploadBodySite(Option<usize>),
    /// Finished and refused files leave the list.
    UploadClear,
    /// The user went to a slice of the stack not loaded yet: it is to be fetched first.
    WantSlice {
        series_uid: String,
        position: usize,
    },
}

/// What the upload panel says besides its files.
#[derive(Debug, Clone, PartialEq)]
pub enum UploadNote {
    /// No STOW-RS service is known for this patient (no `stowBaseUrl`, no study to learn it from).
    NoDestination,
    NoPatient,
    /// Requests failed; the queue waits for the network (`online`) or the next try.
    Offline(String),
    /// The queue could not be kept (IndexedDB failed); nothing was queued.
    Store(String),
}

/// The upload panel's state (`upload` option); [`Store::upload`] is `None` without it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UploadView {
    pub intake: crate::upload::intake::Intake,
    pub note: Option<UploadNote>,
    pub body_site: Option<usize>,
}

/// One decoded frame of the stack.
#[derive(Debug, Clone)]
pub struct StackFrame {
    pub instance_uid: String,
    pub image: VerifiedImage,
    /// Its instance's place in the series' display order.
    pub position: usize,
}

/// The series in the viewport: the frames decoded so far, in display order (instances arrive
/// in any order: the slice the user went to comes first), and how many instances there are.
#[derive(Debug, Clone, Default)]
pub struct Stack {
    pub study_uid: String,
    pub series_uid: String,
    pub frames: Vec<StackFrame>,
    pub loaded_instances: usize,
    pub total_instances: usize,
    /// A multi-frame instance is in the stack: it is stepped frame by frame, not by instance.
    pub multi_frame: bool,
    /// The slice the user went to before it was loaded: shown when it comes.
    pub wanted: Option<usize>,
}

impl Stack {
    pub fn loading(&self) -> bool {
        self.loaded_instances < self.total_instances
    }

    /// How many slices the scrollbar spans: every instance, or every frame when there are more.
    pub fn slices(&self) -> usize {
        self.total_instances.max(self.frames.len())
    }

    /// The slice (0-based) frame `index` shows: its instance's place, or with multi-frame
    /// instances the frame's own.
    pub fn slice_of(&self, index: usize) -> usize {
        match self.frames.get(index) {
            Some(frame) if !self.multi_frame => frame.position,
            _ => index,
        }
    }

    /// The frame that shows `slice`, if it is loaded.
    pub fn frame_of(&self, slice: usize) -> Option<usize> {
        if self.multi_frame {
            return (slice < self.frames.len()).then_some(slice);
        }
        self.frames.binary_search_by_key(&slice, |f| f.position).ok()
    }

    /// Where a frame of the instance at `position` goes: after every frame before it.
    fn place(&self, position: usize, frame_index: u32) -> usize {
        self.frames.partition_point(|f| (f.position, f.image.frame_index) <= (position, frame_index))
    }
}

/// What a drag does with the primary button (one-button devices pick it on the toolbar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Window,
    Zoom,
    Pan,
    Scroll,
    /// Draws a measurement or an annotation of this kind.
    Measure(MeasureKind),
}

/// A measurement on screen: what was drawn and what it measures on its frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Drawn {
    pub measurement: Measurement,
    pub values: MeasuredValues,
}

/// The measurements of the patient in context, the one selected, and the one being drawn.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measurements {
    pub drawn: Vec<Drawn>,
    pub selected: Option<u32>,
    pub draft: Option<Measurement>,
    pub next_id: u32,
}

impl Measurements {
    /// Those attached to the frame `instance_uid` / `frame`.
    pub fn on(&self, instance_uid: &str, frame: u32) -> impl Iterator<Item = &Drawn> {
        let instance_uid = instance_uid.to_string();
        self.drawn.iter().filter(move |d| d.measurement.instance_uid == instance_uid && d.measurement.frame == frame)
    }
}

/// The user's view of the image: kept across slices of one series, reset on a new series.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewState {
    /// `None`: each frame's own default window.
    pub window: Option<Window>,
    /// Screen px per image px; `None`: fit to the viewport.
    pub zoom: Option<f64>,
    pub pan: (f64, f64),
    pub invert: bool,
    pub tool: Tool,
    pub playing: bool,
    pub fps: u32,
}

impl Default for ViewState {
    fn default() -> Self {
        ViewState { window: None, zoom: None, pan: (0.0, 0.0), invert: false, tool: Tool::Window, playing: false, fps: 10 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    /// Follows `prefers-color-scheme`.
    Auto,
    Light,
    Dark,
}

impl Theme {
    pub fn attr(self) -> &'static str {
        match self {
            Theme::Auto => "auto",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
}

/// Sink for [`Action`]s. The owner lives on the one browser thread; the wrapper only satisfies
/// leptos's `Send` bounds.
pub type ActionSink = Arc<send_wrapper::SendWrapper<Box<dyn Fn(Action)>>>;
/// Called after an image has been drawn (for the `image-displayed` event).
pub type DisplayedSink = Arc<send_wrapper::SendWrapper<Box<dyn Fn(&ShownImage)>>>;

/// The second viewport of a comparison: the prior's own view state (stack, slice, window,
/// zoom) in a store of its own, shown by the same viewport component.
#[derive(Clone)]
pub struct ComparePane {
    /// The study shown beside the open one; `None`: one viewport.
    pub study: ArcRwSignal<Option<Study>>,
    pub store: Store,
    /// The prior takes the open study's window while set.
    pub link_window: ArcRwSignal<bool>,
    /// Which slice each viewport shows (the session's rule).
    pub link: Arc<send_wrapper::SendWrapper<std::cell::RefCell<ScrollLink>>>,
}

/// All view state. Cloning shares the same signals.
#[derive(Clone)]
pub struct Store {
    pub patient: ArcRwSignal<Option<Patient>>,
    /// Whose images may be drawn: every draw compares its image's proof with it.
    pub context: ArcRwSignal<Option<Arc<PatientContext>>>,
    pub studies: ArcRwSignal<Vec<Study>>,
    pub selected_study: ArcRwSignal<Option<String>>,
    /// Studies that appeared while the patient was open ("New study available").
    pub new_studies: ArcRwSignal<Vec<String>>,
    pub status: ArcRwSignal<Status>,
    /// The frame in the viewport.
    pub image: ArcRwSignal<Option<ShownImage>>,
    /// Set when an image was withheld because it is not this patient's.
    pub blocked: ArcRwSignal<Option<String>>,
    pub stack: ArcRwSignal<Stack>,
    pub index: ArcRwSignal<usize>,
    pub series: ArcRwSignal<Vec<SeriesItem>>,
    pub view: ArcRwSignal<ViewState>,
    pub reports: ArcRwSignal<Reports>,
    /// The open study's key images (series, SOP Instance UID).
    pub key_images: ArcRwSignal<crate::session::KeyImages>,
    /// The structured reports shown beside the images.
    pub structured_reports: ArcRwSignal<Option<crate::session::OpenedReports>>,
    /// The presentation state the images are shown with.
    pub presentation: ArcRwSignal<Option<Arc<AppliedState>>>,
    /// The state's displayed area is still to be placed on its first image.
    area_pending: ArcRwSignal<bool>,
    /// The UI's language, chosen before the view is built (it is not switched live).
    pub locale: ArcRwSignal<super::Locale>,
    pub key_images_only: ArcRwSignal<bool>,
    pub measurements: ArcRwSignal<Measurements>,
    pub theme: ArcRwSignal<Theme>,
    /// The site's diagnostic viewer (IID), for studies without an `ihe-iid` Endpoint of their own.
    pub iid_viewer: ArcRwSignal<Option<url::Url>>,
    /// The viewport's size in CSS px (from a ResizeObserver).
    pub viewport_size: ArcRwSignal<(f64, f64)>,
    /// The comparison's second viewport (the pane's own store has none).
    pub compare: Option<Arc<ComparePane>>,
    /// The upload panel, shown only when the host enabled it.
    pub upload: ArcRwSignal<Option<UploadView>>,
    pub actions: ActionSink,
    pub displayed: DisplayedSink,
}

impl Store {
    pub fn new(actions: Box<dyn Fn(Action)>, displayed: Box<dyn Fn(&ShownImage)>) -> Self {
        // The pane's intents and draws are not the host's: its toolbar acts on it alone.
        let pane = Store::bare(Box::new(|_| {}), Box::new(|_| {}), None);
        let compare = ComparePane {
            study: ArcRwSignal::new(None),
            store: pane,
            link_window: ArcRwSignal::new(false),
            link: Arc::new(send_wrapper::SendWrapper::new(std::cell::RefCell::new(ScrollLink::default()))),
        };
        Store::bare(actions, displayed, Some(Arc::new(compare)))
    }

    fn bare(actions: Box<dyn Fn(Action)>, displayed: Box<dyn Fn(&ShownImage)>, compare: Option<Arc<ComparePane>>) -> Self {
        Store {
            patient: ArcRwSignal::new(None),
            context: ArcRwSignal::new(None),
            studies: ArcRwSignal::new(Vec::new()),
            selected_study: ArcRwSignal::new(None),
            new_studies: ArcRwSignal::new(Vec::new()),
            status: ArcRwSignal::new(Status::Idle),
            image: ArcRwSignal::new(None),
            blocked: ArcRwSignal::new(None),
            stack: ArcRwSignal::new(Stack::default()),
            index: ArcRwSignal::new(0),
            series: ArcRwSignal::new(Vec::new()),
            view: ArcRwSignal::new(ViewState::default()),
            reports: ArcRwSignal::new(Reports::Idle),
            key_images: ArcRwSignal::new(Vec::new()),
            structured_reports: ArcRwSignal::new(None),
            presentation: ArcRwSignal::new(None),
            area_pending: ArcRwSignal::new(false),
            locale: ArcRwSignal::new(super::Locale::default()),
            key_images_only: ArcRwSignal::new(false),
            measurements: ArcRwSignal::new(Measurements::default()),
            theme: ArcRwSignal::new(Theme::Auto),
            iid_viewer: ArcRwSignal::new(None),
            viewport_size: ArcRwSignal::new((0.0, 0.0)),
            compare,
            upload: ArcRwSignal::new(None),
            actions: Arc::new(send_wrapper::SendWrapper::new(actions)),
            displayed: Arc::new(send_wrapper::SendWrapper::new(displayed)),
        }
    }

    /// Forgets everything about the current patient, synchronously: called first on a switch.
    /// The image goes first, so nothing of the previous patient is drawn after this returns.
    pub fn clear_patient(&self) {
        self.close_comparison();
        self.image.set(None);
        self.stack.set(Stack::default());
        self.series.set(Vec::new());
        self.blocked.set(None);
        self.reports.set(Reports::Idle);
        self.key_images.set(Vec::new());
        self.structured_reports.set(None);
        self.presentation.set(None);
        // Drawn on the previous patient's images: never shown or handed out for the next.
        self.measurements.set(Measurements::default());
        // The previous patient's files are not listed under the next (their queue waits).
        self.upload.update(|u| {
            if let Some(u) = u {
                *u = UploadView { body_site: u.body_site, ..UploadView::default() };
            }
        });
        self.studies.set(Vec::new());
        self.selected_study.set(None);
        self.new_studies.set(Vec::new());
        self.context.set(None);
        self.patient.set(None);
        self.index.set(0);
        self.view.update(|v| *v = ViewState { tool: v.tool, fps: v.fps, ..ViewState::default() });
        self.status.set(Status::Idle);
    }

    /// Shows what the session says. Updates for the host (a study opened, a failure) are the
    /// api's to announce; here they change only what is drawn.
    pub fn apply(&self, update: Change) {
        match update {
            Change::Cleared { .. } => self.clear_patient(),
            Change::Patient { patient, context } => {
                self.context.set(Some(context));
                self.patient.set(Some(patient));
            }
            Change::Studies(studies) => self.studies.set(studies),
            Change::StudyOpened(study) => {
                self.close_comparison();
                self.selected_study.set(Some(study.study_uid));
                self.image.set(None);
                // Nothing of the previous stack to scroll to, nor a wish made in it, until the
                // study's own stack starts.
                self.stack.set(Stack::default());
                self.blocked.set(None);
                self.key_images.set(Vec::new());
                self.structured_reports.set(None);
                self.presentation.set(None);
            }
            Change::Status(status) => self.status.set(status),
            Change::Blocked(mismatch) => {
                let message = format!("{} {mismatch}", self.strings().blocked_prefix);
                self.close_comparison();
                self.image.set(None);
                self.stack.set(Stack::default());
                self.structured_reports.set(None);
                self.presentation.set(None);
                self.blocked.set(Some(message.clone()));
                self.status.set(Status::Error(message));
            }
            Change::Image(shown) => {
                let (window, table) = self.own_voi(&shown.series_uid, &shown.instance_uid, &shown.image);
                self.image.set(Some(ShownImage {
                    study_uid: shown.study_uid,
                    series_uid: shown.series_uid,
                    instance_uid: shown.instance_uid,
                    image: shown.image,
                    window,
                    table,
                }));
                self.place_area();
            }
            Change::Series(items) => self.series.set(items),
            Change::SeriesProgress { series_uid, loaded, total } => self.update_item(&series_uid, |i| {
                i.loaded = loaded;
                i.total = total;
            }),
            Change::SeriesLoaded { series_uid, instances, .. } => self.update_item(&series_uid, |i| i.loaded = i.total.max(instances)),
            Change::Thumbnail { series_uid, image, total } => self.update_item(&series_uid, |i| {
                i.thumb = i.thumb.take().or(Some(image));
                if let Some(total) = total {
                    i.total = i.total.max(total);
                }
            }),
            Change::StackStarted { study_uid, series_uid, fresh_view } => {
                let named =
                    self.presentation.with_untracked(|p| p.as_ref().is_none_or(|p| p.state.series_uids().contains(&series_uid.as_str())));
                if !named {
                    self.presentation.set(None);
                }
                if fresh_view {
                    self.image.set(None);
                    self.view.update(|v| {
                        v.window = None;
                        v.zoom = None;
                        v.pan = (0.0, 0.0);
                        v.playing = false;
                    });
                }
                self.blocked.set(None);
                // The first slice is the one to show first.
                self.stack.set(Stack { study_uid, series_uid, wanted: Some(0), ..Stack::default() });
                self.index.set(0);
            }
            Change::StackTotal(total) => self.stack.update(|s| s.total_instances = total),
            Change::StackFrame { instance_uid, image, position } => self.add_frame(StackFrame { instance_uid, image, position }),
            Change::StackInstanceDone => self.stack.update(|s| s.loaded_instances += 1),
            // The first frame stacked: shown unless the slice the user is waiting for is another.
            Change::ShowFrame(index) => {
                let waiting = self.stack.with_untracked(|s| s.wanted.is_some_and(|w| s.frames.get(index).is_some_and(|f| f.position != w)));
                if !waiting {
                    self.show_index(index);
                }
            }
            Change::FrameRate(fps) => self.view.update(|v| v.fps = fps),
            Change::Reports(reports) => self.reports.set(reports),
            Change::NewStudies(uids) => self.new_studies.update(|n| n.extend(uids)),
            Change::KeyImages(keys) => self.key_images.set(keys),
            Change::KeyImagesOnly(on) => self.key_images_only.set(on),
            Change::StructuredReports(reports) => self.structured_reports.set(reports),
            Change::PresentationState(state) => {
                let applied = state.is_some();
                self.presentation.set(state);
                // The state's window and area replace the user's; without it, the image's own.
                self.view.update(|v| {
                    v.window = None;
                    v.zoom = None;
                    v.pan = (0.0, 0.0);
                });
                self.area_pending.set(applied);
                let index = self.index.get_untracked();
                self.image.update(|i| {
                    if let Some(i) = i {
                        i.window = i.image.default_window;
                        i.table = None;
                    }
                });
                self.show_index(index);
                self.place_area();
            }
            Change::Comparison(update) => self.apply_comparison(update),
        }
    }

    /// The comparison's viewport as the session says; its images are drawn against the same
    /// patient as this store's.
    fn apply_comparison(&self, update: crate::session::Comparison) {
        use crate::session::Comparison;
        let Some(compare) = &self.compare else { return };
        let pane = &compare.store;
        match update {
            Comparison::Opened(study) => {
                pane.clear_patient();
                pane.locale.set(self.locale());
                pane.theme.set(self.theme.get_untracked());
                pane.context.set(self.context.get_untracked());
                pane.patient.set(self.patient.get_untracked());
                pane.selected_study.set(Some(study.study_uid.clone()));
                *compare.link.borrow_mut() = ScrollLink::default();
                compare.study.set(Some(*study));
            }
            Comparison::Stack { study_uid, series_uid, total } => {
                pane.apply(Change::StackStarted { study_uid, series_uid, fresh_view: true });
                pane.apply(Change::StackTotal(total));
                // Its first frame goes where the scroll link places it, not to its first slice.
                pane.stack.update(|s| s.wanted = None);
            }
            Comparison::Frame { instance_uid, image, position } => {
                pane.apply(Change::StackFrame { instance_uid, image, position });
                if pane.image.with_untracked(Option::is_none) {
                    let index = self.index.get_untracked();
                    let placed = compare.link.borrow_mut().place(Side::Current, index, &self.slice_geometry(), &pane.slice_geometry());
                    pane.show_index(placed.unwrap_or(0));
                }
            }
            Comparison::InstanceDone => pane.apply(Change::StackInstanceDone),
            Comparison::Closed => self.close_comparison(),
        }
    }

    /// Every stacked slice's position and orientation, for the scroll link.
    fn slice_geometry(&self) -> Vec<SliceGeometry> {
        self.stack.with_untracked(|s| s.frames.iter().map(|f| (f.image.header.image_position, f.image.header.image_orientation)).collect())
    }

    /// `side` of a comparison shows another slice: the other viewport goes to the slice
    /// nearest it by position, unless this is the link's own move coming back.
    pub fn follow(&self, side: Side) {
        let Some(compare) = &self.compare else { return };
        let pane = &compare.store;
        let (leader, follower) = match side {
            Side::Current => (self, pane),
            Side::Prior => (pane, self),
        };
        let index = leader.index.get_untracked();
        let target = compare.link.borrow_mut().moved(
            side,
            index,
            &leader.slice_geometry(),
            &follower.slice_geometry(),
            follower.index.get_untracked(),
        );
        if let Some(target) = target {
            follower.show_index(target);
        }
    }

    /// With the window linked, the prior is shown under the open study's window.
    pub fn follow_window(&self) {
        let Some(compare) = self.compare.as_ref().filter(|c| c.link_window.get_untracked()) else { return };
        let window = self.image.with_untracked(|i| i.as_ref().filter(|i| !i.image.is_colour()).map(|i| i.window));
        let Some(window) = window else { return };
        let pane = &compare.store;
        if pane.image.with_untracked(|i| i.as_ref().is_some_and(|i| i.window.center != window.center || i.window.width != window.width)) {
            pane.set_window(window.center, window.width);
        }
    }

    /// Back to one viewport: the prior's images go before anything else changes.
    fn close_comparison(&self) {
        if let Some(compare) = &self.compare {
            compare.store.clear_patient();
            compare.study.set(None);
        }
    }

    /// A failure, in the status line.
    pub fn failed(&self, error: &crate::session::SessionError) {
        let message = match error {
            crate::session::SessionError::WrongPatient(mismatch) => format!("{} {mismatch}", self.strings().blocked_prefix),
            other => super::error_message(other),
        };
        self.status.set(Status::Error(message));
    }

    fn update_item(&self, series_uid: &str, f: impl FnOnce(&mut SeriesItem)) {
        self.series.update(|items| {
            if let Some(item) = items.iter_mut().find(|i| i.uid == series_uid) {
                f(item);
            }
        });
    }

    /// Light, dark or following the host's colour scheme (for the api's `theme` option).
    pub fn set_theme(&self, theme: Theme) {
        self.theme.set(theme);
    }

    pub fn set_locale(&self, locale: super::Locale) {
        self.locale.set(locale);
    }

    /// The UI's strings, in its language.
    pub fn strings(&self) -> &'static super::Strings {
        self.locale.get_untracked().strings()
    }

    pub fn locale(&self) -> super::Locale {
        self.locale.get_untracked()
    }

    pub fn set_iid_viewer(&self, viewer: Option<url::Url>) {
        self.iid_viewer.set(viewer);
    }

    /// Shows frame `index` of the stack under the current window.
    pub fn show_index(&self, index: usize) {
        let frame = self.stack.with_untracked(|s| {
            let len = s.frames.len();
            s.frames.get(geometry::step_index(index, 0, len)).cloned().map(|f| (f, s.study_uid.clone(), s.series_uid.clone(), len))
        });
        let Some((frame, study_uid, series_uid, len)) = frame else { return };
        let index = geometry::step_index(index, 0, len);
        let (window, table) = match self.view.with_untracked(|v| v.window) {
            Some(window) => (window, None),
            None => self.own_voi(&series_uid, &frame.instance_uid, &frame.image),
        };
        self.index.set(index);
        // The same frame as shown (the stack's own decode of the first image `open_study`
        // showed, say) stays: a redraw would announce it to the host a second time.
        let same = self.image.with_untracked(|i| {
            i.as_ref().is_some_and(|i| {
                i.study_uid == study_uid
                    && i.series_uid == series_uid
                    && i.instance_uid == frame.instance_uid
                    && i.image.frame_index == frame.image.frame_index
                    && i.window == window
                    && i.table == table
            })
        });
        if !same {
            self.image.set(Some(ShownImage { study_uid, series_uid, instance_uid: frame.instance_uid, image: frame.image, window, table }));
            self.place_area();
        }
    }

    /// What the applied presentation state says for the image in the viewport (tracked).
    pub fn applied_state(&self) -> Option<Applied> {
        self.image.with(|i| {
            let i = i.as_ref()?;
            self.presentation
                .with(|p| p.as_ref()?.state.for_image(&i.series_uid, &i.instance_uid, i.image.frame_index + 1, i.image.rescale()))
        })
    }

    /// The spatial transformation the image in the viewport is shown with (untracked).
    pub fn transform_untracked(&self) -> SpatialTransform {
        self.image
            .with_untracked(|i| {
                let i = i.as_ref()?;
                self.presentation.with_untracked(|p| {
                    p.as_ref().filter(|p| p.state.names(&i.series_uid, &i.instance_uid, i.image.frame_index + 1)).map(|p| p.state.transform)
                })
            })
            .unwrap_or_default()
    }

    /// An image's VOI when the user has chosen none: the state's window or table for it, else
    /// its own (its window, or its table when it has no window). With a table, the window is
    /// where a window drag starts.
    fn own_voi(&self, series_uid: &str, instance_uid: &str, image: &VerifiedImage) -> (Window, Option<Arc<VoiTable>>) {
        let state = self.presentation.with_untracked(|p| {
            let applied = p.as_ref()?.state.for_image(series_uid, instance_uid, image.frame_index + 1, image.rescale())?;
            match (applied.window, applied.table) {
                (Some(window), _) => Some((window, None)),
                (None, Some(table)) => Some((image.default_window, Some(table))),
                (None, None) => None,
            }
        });
        state.unwrap_or_else(|| (image.default_window, image.default_table.clone()))
    }

    /// Zooms and pans to the state's displayed area once, on the first image it is for; from
    /// then on zoom and pan are the user's.
    fn place_area(&self) {
        if !self.area_pending.get_untracked() {
            return;
        }
        let placed = self.image.with_untracked(|i| {
            let i = i.as_ref()?;
            let applied = self.presentation.with_untracked(|p| {
                p.as_ref()?.state.for_image(&i.series_uid, &i.instance_uid, i.image.frame_index + 1, i.image.rescale())
            })?;
            let Some(area) = applied.area else { return Some(None) };
            let aspect = geometry::pixel_aspect(i.image.header.display_spacing());
            let dims = (i.image.columns(), i.image.rows());
            Some(Some(area_view(&area, applied.transform, dims, aspect, self.viewport_size.get_untracked())))
        });
        // Placed, or the state's first image has no area: either way the user's from now on.
        if let Some(placed) = placed {
            self.area_pending.set(false);
            if let Some((zoom, pan)) = placed {
                self.view.update(|v| {
                    v.zoom = Some(zoom);
                    v.pan = pan;
                });
            }
        }
    }

    /// Starts drawing a `kind` at `at` on the frame in the viewport.
    pub fn start_measurement(&self, kind: MeasureKind, at: Point) {
        let Some(shown) = self.image.get_untracked() else { return };
        self.measurements.update(|m| {
            m.selected = None;
            m.draft = Some(Measurement {
                id: m.next_id,
                kind,
                study_uid: shown.study_uid.clone(),
                series_uid: shown.series_uid.clone(),
                instance_uid: shown.instance_uid.clone(),
                frame: shown.image.frame_index,
                points: vec![at; kind.points().min(2)],
                text: None,
            });
        });
    }

    /// Moves the draft's last point to `at`.
    pub fn drag_measurement(&self, at: Point) {
        self.measurements.update(|m| {
            if let Some(last) = m.draft.as_mut().and_then(|d| d.points.last_mut()) {
                *last = at;
            }
        });
    }

    /// The pointer went up at the draft's last point: an angle then waits for its third point
    /// and a text label for its words (`true`), everything else is done (or dropped when it has
    /// no extent).
    pub fn release_measurement(&self) -> bool {
        let Some(draft) = self.measurements.with_untracked(|m| m.draft.clone()) else { return false };
        if draft.kind == MeasureKind::Text {
            return true;
        }
        let [.., a, b] = draft.points.as_slice() else { return false };
        if (a.x - b.x).hypot(a.y - b.y) < 1.0 {
            // A click, not a drag: an angle's ray or a shape needs extent.
            if draft.points.len() == 2 {
                self.measurements.update(|m| m.draft = None);
            }
            return false;
        }
        if draft.points.len() < draft.kind.points() {
            self.measurements.update(|m| {
                if let Some(d) = m.draft.as_mut() {
                    d.points.push(*b);
                }
            });
            return true;
        }
        self.finish_measurement(draft);
        false
    }

    fn finish_measurement(&self, measurement: Measurement) {
        let Some(values) = self.values_of(&measurement) else { return };
        self.measurements.update(|m| {
            // Not selected: the arrow keys keep scrolling the stack until the user picks it.
            m.draft = None;
            m.next_id = m.next_id.max(measurement.id + 1);
            // A label edited again keeps its place in the order drawn.
            let at = m.drawn.partition_point(|d| d.measurement.id < measurement.id);
            m.drawn.insert(at, Drawn { measurement, values });
        });
    }

    /// The words typed for the text label being placed: kept when something is left after
    /// [`clean_text`], else the label is dropped.
    pub fn commit_text(&self, typed: &str) {
        let Some(draft) = self.measurements.with_untracked(|m| m.draft.clone().filter(|d| d.kind == MeasureKind::Text)) else {
            return;
        };
        match clean_text(typed) {
            Some(text) => self.finish_measurement(Measurement { text: Some(text), ..draft }),
            None => {
                self.measurements.update(|m| m.draft = None);
            }
        }
    }

    /// Opens the selected text label for editing again; `false` when the selection is not one.
    pub fn edit_selected_text(&self) -> bool {
        let picked = self.measurements.with_untracked(|m| {
            m.selected.and_then(|id| m.drawn.iter().find(|d| d.measurement.id == id && d.measurement.kind == MeasureKind::Text)).cloned()
        });
        let Some(picked) = picked else { return false };
        self.measurements.update(|m| {
            m.drawn.retain(|d| d.measurement.id != picked.measurement.id);
            m.selected = None;
            m.draft = Some(picked.measurement);
        });
        true
    }

    /// A measurement's values on its own frame, if that frame is in the viewport or the stack.
    fn values_of(&self, measurement: &Measurement) -> Option<MeasuredValues> {
        let on_screen = self.image.with_untracked(|i| {
            i.as_ref()
                .filter(|i| i.instance_uid == measurement.instance_uid && i.image.frame_index == measurement.frame)
                .map(|i| measurement.values(&i.image))
        });
        on_screen.or_else(|| {
            self.stack.with_untracked(|s| {
                s.frames
                    .iter()
                    .find(|f| f.instance_uid == measurement.instance_uid && f.image.frame_index == measurement.frame)
                    .map(|f| measurement.values(&f.image))
            })
        })
    }

    /// Replaces the points of measurement `id` (moved as a whole or by one handle).
    pub fn move_measurement(&self, id: u32, points: Vec<Point>) {
        let Some(mut moved) = self.measurements.with_untracked(|m| m.drawn.iter().find(|d| d.measurement.id == id).cloned()) else {
            return;
        };
        moved.measurement.points = points;
        let Some(values) = self.values_of(&moved.measurement) else { return };
        self.measurements.update(|m| {
            if let Some(d) = m.drawn.iter_mut().find(|d| d.measurement.id == id) {
                *d = Drawn { measurement: moved.measurement, values };
            }
        });
    }

    pub fn select_measurement(&self, id: Option<u32>) {
        self.measurements.update(|m| m.selected = id);
    }

    /// Deletes the selected measurement; `false` when none is selected.
    pub fn delete_selected(&self) -> bool {
        let Some(id) = self.measurements.with_untracked(|m| m.selected) else { return false };
        self.measurements.update(|m| {
            m.drawn.retain(|d| d.measurement.id != id);
            m.selected = None;
        });
        true
    }

    /// Drops the measurement being drawn (a text label being edited again goes back as it
    /// was); `false` when there is none.
    pub fn cancel_draft(&self) -> bool {
        let Some(draft) = self.measurements.with_untracked(|m| m.draft.clone()) else { return false };
        if draft.text.is_some() {
            self.finish_measurement(draft);
        } else {
            self.measurements.update(|m| m.draft = None);
        }
        true
    }

    /// Moves through the stack by `delta` slices.
    pub fn step(&self, delta: i64) {
        let (slice, slices) =
            self.stack.with_untracked(|s| (s.wanted.unwrap_or_else(|| s.slice_of(self.index.get_untracked())), s.slices()));
        self.show_slice(geometry::step_index(slice, delta, slices));
    }

    /// The slice (0-based) the viewport shows.
    pub fn current_slice(&self) -> usize {
        self.stack.with_untracked(|s| s.slice_of(self.index.get_untracked()))
    }

    /// Goes to `slice` (0-based): shown if it is loaded; else the session is asked for it
    /// first, and it is shown when it comes (the viewport keeps its frame meanwhile).
    pub fn show_slice(&self, slice: usize) {
        let (found, series_uid) = self.stack.with_untracked(|s| (s.frame_of(slice), s.series_uid.clone()));
        match found {
            Some(index) => {
                // Written only when set: every write of the stack moves the linked prior.
                if self.stack.with_untracked(|s| s.wanted.is_some()) {
                    self.stack.update(|s| s.wanted = None);
                }
                self.show_index(index);
            }
            None => {
                if self.stack.with_untracked(|s| s.wanted) != Some(slice) {
                    self.stack.update(|s| s.wanted = Some(slice));
                    (self.actions)(Action::WantSlice { series_uid, position: slice });
                }
            }
        }
    }

    /// A frame into its place in the stack. The frame on screen stays on screen (frames put
    /// before it move it on); the slice the user waits for is shown when it comes.
    fn add_frame(&self, frame: StackFrame) {
        let (position, first_frame) = (frame.position, frame.image.frame_index == 0);
        let multi = frame.image.header.number_of_frames > 1;
        let index = self.index.get_untracked();
        let (at, had, waited) = self
            .stack
            .try_update(|s| {
                let at = s.place(frame.position, frame.image.frame_index);
                let had = !s.frames.is_empty();
                s.frames.insert(at, frame);
                s.multi_frame |= multi;
                let waited = first_frame && s.wanted == Some(position) && !s.multi_frame;
                if waited {
                    s.wanted = None;
                }
                (at, had, waited)
            })
            .unwrap_or((0, false, false));
        if had && at <= index {
            self.index.set(index + 1);
        }
        if waited {
            self.show_index(at);
        }
    }

    /// Applies a window to the viewport (kept for the following slices).
    pub fn set_window(&self, center: f64, width: f64) {
        let Some(mut shown) = self.image.get_untracked() else { return };
        if shown.image.is_colour() {
            return;
        }
        let window = Window { center, width: width.max(1.0), function: shown.window.function };
        self.view.update(|v| v.window = Some(window));
        shown.window = window;
        shown.table = None;
        self.image.set(Some(shown));
    }

    /// Back to the frame's own window, fit, no pan, not inverted.
    pub fn reset_view(&self) {
        self.view.update(|v| {
            v.window = None;
            v.zoom = None;
            v.pan = (0.0, 0.0);
            v.invert = false;
        });
        let index = self.index.get_untracked();
        self.image.update(|i| {
            if let Some(i) = i {
                i.window = i.image.default_window;
                i.table = None;
            }
        });
        self.show_index(index);
    }
}
