//! The controller of one component, with no browser in it: the patient in context, which loads
//! are still wanted, the order of loading, decoding and checking, and what the view is told.
//!
//! Every face drives the same session: the JS class and the custom element ([`crate::api`]),
//! and the hosted viewer and FHIRcast as they land. Its inputs ([`Session::switch_patient`],
//! [`Session::open_study`], [`Session::close`], [`Session::set_token`], …) are the things a
//! clinician's context can ask for; its outputs are [`Update`]s to a [`Screen`]. It is generic
//! over the [`Transport`], so its rules are tested natively (`cargo test`).
//!
//! The rules:
//! - A patient switch clears the screen and the memory cache synchronously, before any await,
//!   and cancels every request of the previous patient.
//! - Every await is followed by a check that the load's [`Generation`] is still current; an
//!   answer for a patient, study or series the user has left is dropped, never shown.
//! - Only a [`VerifiedImage`] (decoded and proven to be this patient's) reaches the screen; an
//!   image of another patient blocks everything drawn and says why.
//! - The status line stays honest: a server that is slow to answer is named as the one being
//!   waited for ([`Status::Waiting`]), and a list the server could not page through completely
//!   is shown with the reason reported ([`Screen::failed`]).

mod audit;
mod compare;
mod error;
mod generation;
mod key_images;
mod launch;
mod load;
mod presentation_states;
mod priors;
mod screen;
mod structured_reports;
#[cfg(test)]
pub(crate) mod tests;
mod uploaded;

pub use audit::blocked_reason;
pub use compare::{prior_series, Comparison, ScrollLink, Side, SliceGeometry};
pub use error::SessionError;
pub use generation::{Generation, Generations, Scope};
pub use key_images::KeyImages;
pub use launch::{study_uid_token, Target};
pub use presentation_states::AppliedState;
pub use priors::{comparable_studies, is_comparable};
pub use screen::{Activity, Reports, Screen, SeriesItem, Shown, Status, Update};
pub use structured_reports::OpenedReports;

use crate::bridge::{BridgeError, ImagingBridge, Source, Study, StudyList};
use crate::fhir::{Patient, StudyFilter};
use crate::imaging::decoder::FrameDecoder;
use crate::imaging::{decode_for, DocumentError, IdentityMismatch, PatientContext, VerifiedImage};
use crate::net::{TokenProvider, Transport};
use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

/// The identity facts of a FHIR Patient that images are checked against.
pub fn patient_context(patient: &Patient) -> PatientContext {
    PatientContext {
        id: patient.id.clone(),
        identifiers: patient.identifiers.clone(),
        family: patient.family.clone(),
        display_name: patient.display_name(),
    }
}

/// Settings fixed for the session's lifetime. Where studies and images come from is the
/// bridge's ([`crate::bridge::BridgeConfig`]).
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// How long an answer may take before the status line names the server being waited for.
    pub patience: Duration,
    /// Show a study as only the images its Key Object Selections name.
    pub key_images_only: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig { patience: Duration::from_secs(3), key_images_only: false }
    }
}

/// What `loadImage` hands out: the server's JPEG (its metadata checked first) or our own
/// decode, verified, for the face to encode.
#[derive(Debug, Clone)]
pub enum Export {
    ServerJpeg(Vec<u8>),
    Image(VerifiedImage),
}

/// What the session knows; the screen shows a picture of it.
#[derive(Default)]
struct State {
    /// The patient in context, from the moment a load for them started.
    patient_id: Option<String>,
    /// Their FHIR Patient and identity, once read.
    patient: Option<(Patient, Arc<PatientContext>)>,
    /// The study list on screen.
    studies: Vec<Study>,
    /// The last `fetch_studies` answer and whose it is: studies fetched but never shown may
    /// still be exported or listed.
    fetched: Option<(String, Vec<Study>)>,
    selected_study: Option<String>,
    /// The selected study as opened: with key images only, narrowed to them.
    opened: Option<Study>,
    /// (study, series) of the stack in the viewport.
    stack: Option<(String, String)>,
    /// (series, instance) the viewport shows.
    shown: Option<(String, String)>,
    /// The study shown beside the open one, and its loads' claim.
    comparison: Option<(String, Generation)>,
    /// While a series loads into the stack: where the slices the user goes to are sent.
    wanted: Option<(String, futures_channel::mpsc::UnboundedSender<usize>)>,
}

pub struct Session<T, S> {
    bridge: ImagingBridge<T>,
    screen: S,
    config: SessionConfig,
    generations: Generations,
    state: RefCell<State>,
    audit: audit::Audit,
    /// Studies open as their key images only (the option, then the user's toggle).
    key_images_only: std::cell::Cell<bool>,
    /// Where frames are decoded when not here: the page's decode workers.
    decoder: Option<std::rc::Rc<dyn FrameDecoder>>,
}

impl<T: Transport, S: Screen> Session<T, S> {
    pub fn new(bridge: ImagingBridge<T>, config: SessionConfig, screen: S) -> Self {
        let key_images_only = std::cell::Cell::new(config.key_images_only);
        Session {
            bridge,
            screen,
            config,
            generations: Generations::default(),
            state: RefCell::new(State::default()),
            audit: Default::default(),
            key_images_only,
            decoder: None,
        }
    }

    /// Decodes frames with `decoder` (off the main thread); each frame is still verified here.
    pub fn with_decoder(mut self, decoder: std::rc::Rc<dyn FrameDecoder>) -> Self {
        self.decoder = Some(decoder);
        self
    }

    pub fn bridge(&self) -> &ImagingBridge<T> {
        &self.bridge
    }

    pub fn screen(&self) -> &S {
        &self.screen
    }

    /// The claim of the patient in context's work: ends on the next switch or close.
    pub fn current(&self) -> Generation {
        self.generations.current(Scope::Patient)
    }

    /// The patient in context, if a load for one started.
    pub fn patient_id(&self) -> Option<String> {
        self.state.borrow().patient_id.clone()
    }

    /// Their FHIR Patient, once read.
    pub fn patient(&self) -> Option<Patient> {
        self.state.borrow().patient.as_ref().map(|(p, _)| p.clone())
    }

    /// Replaces the token and drops any provider (`None`: no token).
    pub fn set_token(&self, token: Option<String>) {
        let auth = self.bridge.http().auth();
        auth.set_provider(None);
        auth.set_renewer(None);
        auth.set_token(token);
    }

    /// A fresh token from the host, used from the next request on; a provider stays (it is
    /// what answers a 401).
    pub fn put_token(&self, token: String) {
        self.bridge.http().auth().set_token(Some(token));
    }

    /// Replaces the token by a provider, asked before the next request that needs a token and
    /// once more after a 401.
    pub fn set_token_provider(&self, provider: TokenProvider) {
        let auth = self.bridge.http().auth();
        auth.set_token(None);
        auth.set_provider(Some(provider));
    }

    /// A token the app obtained itself (a SMART grant), with its renewal: from now on the
    /// token is renewed before it ends and after a 401 ([`crate::net::AuthMapper`]).
    pub fn put_grant(&self, fresh: crate::net::Fresh, renewer: Option<crate::net::Renewer>) {
        let auth = self.bridge.http().auth();
        auth.set_renewer(renewer);
        auth.set_fresh(fresh);
    }

    /// Renews the app's token before each end while it can (resolves when renewing stops);
    /// when renewing failed, the user is told at once, before a request fails on it.
    pub async fn keep_fresh(&self) {
        let http = self.bridge.http();
        http.auth().keep_fresh(http.transport()).await;
        if http.auth().is_expired() {
            self.fail(SessionError::SessionExpired);
        }
    }

    /// Asks the provider for a token when there is a provider and no token yet.
    pub async fn ensure_token(&self) {
        let auth = self.bridge.http().auth();
        if auth.has_provider() && !auth.has_token() {
            auth.refresh().await;
        }
    }

    /// Makes `patient_id` the patient in context, synchronously: the screen is cleared, and
    /// when the patient changes the memory cache too, before this returns. Returns the claim
    /// that the new patient's loads carry.
    pub fn switch_patient(&self, patient_id: &str) -> Generation {
        let generation = self.generations.begin(Scope::Patient);
        let changed = {
            let mut state = self.state.borrow_mut();
            let previous = state.patient_id.replace(patient_id.to_string());
            let fetched = state.fetched.take();
            *state = State { patient_id: Some(patient_id.to_string()), fetched, ..State::default() };
            previous.as_deref() != Some(patient_id)
        };
        if changed {
            self.bridge.clear_memory();
        }
        self.screen.apply(Update::Cleared { patient_changed: changed });
        generation
    }

    /// No patient in context any more (logout, a context close, `destroy()`): everything of
    /// the previous one goes, as on a switch, and no load of theirs can come back.
    pub fn close(&self) {
        self.generations.begin(Scope::Patient);
        *self.state.borrow_mut() = State::default();
        self.audit_forget();
        self.bridge.clear_memory();
        self.screen.apply(Update::Cleared { patient_changed: true });
    }

    /// The study open in the viewport, if any.
    pub fn selected_study_uid(&self) -> Option<String> {
        self.state.borrow().selected_study.clone()
    }

    /// Whether `study_uid` is in the list on screen.
    pub fn is_listed(&self, study_uid: &str) -> bool {
        self.listed_study(study_uid).is_some()
    }

    /// The study `study_uid` of the list on screen.
    pub fn listed(&self, study_uid: &str) -> Option<Study> {
        self.listed_study(study_uid)
    }

    /// The patient's list read again (a new or changed study on the server): the list on screen
    /// is replaced (keeping studies listed from the PACS alone that FHIR does not list yet) and
    /// the new studies announced; the open study and its viewport stay.
    /// Returns the studies new to the list.
    pub async fn refresh_studies(&self) -> Result<Vec<String>, SessionError> {
        let generation = self.current();
        let patient_id = self.patient_id().filter(|_| self.state.borrow().patient.is_some()).ok_or(SessionError::NoPatient)?;
        let list = self.patient_studies(&patient_id).await?;
        if !generation.is_current() {
            return Err(SessionError::Superseded);
        }
        let (studies, fresh) = {
            let state = self.state.borrow();
            let fresh: Vec<String> = list
                .studies
                .iter()
                .filter(|s| !state.studies.iter().any(|k| k.study_uid == s.study_uid))
                .map(|s| s.study_uid.clone())
                .collect();
            // A study listed from the PACS alone (just uploaded) stays until FHIR lists it.
            let mut studies = list.studies;
            let pacs_only =
                state.studies.iter().filter(|k| k.source == Source::PacsOnly && !studies.iter().any(|s| s.study_uid == k.study_uid));
            studies.extend(pacs_only.cloned().collect::<Vec<_>>());
            crate::sorting::sort_by(&mut studies, crate::bridge::newest_first);
            (studies, fresh)
        };
        self.set_studies(studies);
        if !fresh.is_empty() {
            self.screen.apply(Update::NewStudies(fresh.clone()));
        }
        Ok(fresh)
    }

    /// Leaves the open study (a context close): its loads stop and the viewport empties; the
    /// patient's banner and list stay.
    pub fn leave_study(&self) {
        self.generations.begin(Scope::Study);
        let (patient, studies) = {
            let mut state = self.state.borrow_mut();
            state.selected_study = None;
            state.comparison = None;
            state.stack = None;
            state.shown = None;
            (state.patient.clone(), state.studies.clone())
        };
        self.screen.apply(Update::Cleared { patient_changed: false });
        if let Some((patient, context)) = patient {
            self.screen.apply(Update::Patient { patient, context });
        }
        self.screen.apply(Update::Studies(studies));
    }

    /// Tells the user and the host of something that went wrong outside a load (a context
    /// that could not be followed elsewhere).
    pub fn report(&self, error: SessionError) {
        self.fail(error);
    }

    /// Switches to `patient_id` and loads them: list, banner, the newest study's first image.
    pub async fn open_patient(&self, patient_id: &str) -> Result<(), SessionError> {
        let generation = self.switch_patient(patient_id);
        self.load_patient(patient_id, &generation).await
    }

    /// After [`Session::switch_patient`]: the patient's banner and studies, then the newest
    /// study opened. A list the server could not page through is shown as far as it goes, its
    /// newest study opened, and then the reason reported (so the status line ends on it); the
    /// call itself succeeds.
    pub async fn load_patient(&self, patient_id: &str, generation: &Generation) -> Result<(), SessionError> {
        self.screen.apply(Update::Status(Status::Loading(Activity::Studies)));
        let both = futures_util::future::join(self.bridge.get_patient(patient_id), self.patient_studies(patient_id));
        let (patient, list) = self.patiently(Activity::Studies, generation, both).await;
        if !generation.is_current() {
            return Err(SessionError::Superseded);
        }
        let patient = patient.map_err(|e| self.fail(e.into()))?;
        let StudyList { studies, incomplete } = list.map_err(|e| self.fail(e.into()))?;
        self.show(patient, studies, incomplete, generation).await
    }

    /// Shows the patient and `studies` (in their order), opens the first, then reports why
    /// the list is incomplete, if it is (so the status line ends on it).
    async fn show(
        &self,
        patient: Patient,
        studies: Vec<Study>,
        incomplete: Option<BridgeError>,
        generation: &Generation,
    ) -> Result<(), SessionError> {
        self.audit_query(&patient.id);
        self.set_patient(patient);
        let first = studies.first().map(|s| s.study_uid.clone());
        self.set_studies(studies);
        let opened = match first {
            Some(uid) => self.open_study(&uid).await,
            None => {
                self.screen.apply(Update::Status(Status::NoStudies));
                Ok(())
            }
        };
        if let Some(reason) = incomplete.filter(|_| generation.is_current()) {
            self.fail(reason.into());
        }
        opened
    }

    /// The patient's studies (FHIR + DICOMweb), remembered for [`Session::show_studies`] and
    /// exports; nothing is drawn. A list the server could not page through is returned as far
    /// as it goes, and the reason reported through [`Screen::failed`] (the host's error event).
    pub async fn fetch_studies(&self, patient_id: &str) -> Result<Vec<Study>, SessionError> {
        let StudyList { studies, incomplete } = self.patient_studies(patient_id).await?;
        self.state.borrow_mut().fetched = Some((patient_id.to_string(), studies.clone()));
        self.audit_query(patient_id);
        if let Some(reason) = incomplete {
            self.fail(reason.into());
        }
        Ok(studies)
    }

    /// Lists `study_uids` (from the last fetch) on screen, switching to their patient if needed.
    /// Returns the claim of a banner still to read ([`Session::load_banner`]) after a switch.
    pub fn show_studies(&self, study_uids: &[String]) -> Result<Option<Generation>, SessionError> {
        let (patient_id, known) = self.state.borrow().fetched.clone().ok_or(SessionError::NothingFetched)?;
        let chosen = study_uids
            .iter()
            .map(|uid| known.iter().find(|s| &s.study_uid == uid).cloned().ok_or_else(|| SessionError::StudyNotFetched(uid.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        let switch = {
            let state = self.state.borrow();
            state.patient_id.as_deref() != Some(patient_id.as_str()) || state.patient.is_none()
        };
        let banner = switch.then(|| self.switch_patient(&patient_id));
        self.set_studies(chosen);
        Ok(banner)
    }

    /// Reads the banner's Patient for the patient in context, unless `generation` has ended.
    pub async fn load_banner(&self, generation: &Generation) -> Result<(), SessionError> {
        let Some(patient_id) = self.patient_id() else { return Err(SessionError::NoPatient) };
        let patient = self.bridge.get_patient(&patient_id).await;
        if !generation.is_current() {
            return Err(SessionError::Superseded);
        }
        self.set_patient(patient.map_err(|e| self.fail(e.into()))?);
        Ok(())
    }

    /// Opens a listed study: its first image, then the rest of that series as a stack, its
    /// reports and the other series' thumbnails. Resolves when the strip is filled. An earlier
    /// study's loads stop.
    pub async fn open_study(&self, study_uid: &str) -> Result<(), SessionError> {
        let listed = self.listed_study(study_uid).ok_or_else(|| SessionError::StudyNotLoaded(study_uid.to_string()))?;
        let generation = self.generations.begin(Scope::Study);
        {
            let mut state = self.state.borrow_mut();
            state.selected_study = Some(study_uid.to_string());
            state.comparison = None;
            state.opened = None;
            state.stack = None;
            state.shown = None;
        }
        self.screen.apply(Update::StudyOpened(Box::new(listed.clone())));
        self.screen.apply(Update::Status(Status::Loading(Activity::Image)));
        let loaded = async {
            let (study, keys) = if self.key_images_only.get() {
                let (study, keys) = self.key_images_of(&listed, &generation).await?;
                (study, Some(keys))
            } else {
                (listed.clone(), None)
            };
            let (series, instance) = self.bridge.first_image(&study).await?;
            let bytes = self.bridge.get_instance(&study, &series.uid, &instance.uid, generation.token()).await?;
            Ok::<_, SessionError>((study, keys, series, instance, bytes))
        };
        let loaded = self.patiently(Activity::Image, &generation, loaded).await;
        if !generation.is_current() {
            return Err(SessionError::Superseded);
        }
        let (study, keys, series, instance, bytes) = loaded.map_err(|e| match e {
            // Blocked and reported already.
            e @ SessionError::WrongPatient(_) => e,
            e => self.fail(e),
        })?;
        self.state.borrow_mut().opened = Some(study.clone());
        if let Some(keys) = keys {
            self.screen.apply(Update::KeyImages(keys));
        }
        let context = self.identity(&generation).await?;
        let decoded = self.decode_verified(&bytes, 0, &context, generation.token()).await;
        if !generation.is_current() {
            return Err(SessionError::Superseded);
        }
        // Another patient's image has blocked and been reported already; a decode failure is reported here.
        let image = self.verified(decoded.ok_or(SessionError::Superseded)?).map_err(|e| match e {
            SessionError::Imaging(_) => self.fail(e),
            other => other,
        })?;
        self.screen.apply(Update::Status(Status::Idle));
        self.state.borrow_mut().shown = Some((series.uid.clone(), instance.uid.clone()));
        self.screen.apply(Update::Image(Shown {
            study_uid: study.study_uid.clone(),
            series_uid: series.uid.clone(),
            instance_uid: instance.uid,
            image,
        }));
        self.audit_read(&study, &series.uid);
        // A later instance of another patient rejects the call like the first would have;
        // other failures of later instances are reported while the shown image stays.
        match self.after_first_image(&study, &series.uid, &generation).await {
            Ok(()) | Err(SessionError::Superseded) => Ok(()),
            Err(e @ SessionError::WrongPatient(_)) => Err(e),
            Err(e) => {
                self.fail(e);
                Ok(())
            }
        }
    }

    /// A series of the selected study chosen in the strip: replaces the stack, with a fresh
    /// view. Failures are reported (status and error event).
    pub async fn open_series(&self, series_uid: &str) -> Result<(), SessionError> {
        let showing = {
            let state = self.state.borrow();
            state.stack.as_ref().is_some_and(|(study, series)| state.selected_study.as_ref() == Some(study) && series == series_uid)
        };
        if showing {
            return Ok(());
        }
        let study = self.selected_study()?;
        self.state.borrow_mut().shown = None;
        match self.load_series(&study, series_uid, true).await {
            Ok(()) | Err(SessionError::Superseded) => Ok(()),
            Err(e @ SessionError::WrongPatient(_)) => Err(e),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// One instance of the patient in context (or of the last fetch) for the host: the
    /// server's JPEG when it renders one, else our decode, verified either way. The instance
    /// comes through the viewer's cache tiers and stays there; a rendered JPEG is never
    /// cached (it has no header to check again).
    pub async fn export_image(&self, study_uid: &str, series_uid: &str, instance_uid: &str) -> Result<Export, SessionError> {
        let generation = self.generations.current(Scope::Patient);
        let (patient_id, study) = self.known_study(study_uid).ok_or_else(|| SessionError::StudyNotKnown(study_uid.to_string()))?;
        let context = self.state.borrow().patient.as_ref().filter(|(p, _)| p.id == patient_id).map(|(_, c)| c.clone());
        let context = match context {
            Some(context) => context,
            None => Arc::new(patient_context(&self.bridge.get_patient(&patient_id).await?)),
        };
        let exported = async {
            if let Some(bytes) = self.bridge.server_rendered_jpeg(&study, series_uid, instance_uid, &context).await? {
                return Ok(Export::ServerJpeg(bytes));
            }
            let bytes = self.bridge.get_instance(&study, series_uid, instance_uid, generation.token()).await?;
            let image = decode_for(&bytes, &context).map_err(SessionError::from)?;
            if image.header.sop_instance_uid.as_deref() != Some(instance_uid) {
                return Err(SessionError::WrongInstance { asked: instance_uid.to_string(), got: image.header.sop_instance_uid.clone() });
            }
            Ok(Export::Image(image))
        }
        .await;
        if !generation.is_current() {
            return Err(SessionError::Superseded);
        }
        match &exported {
            Ok(_) => self.audit_export(&patient_id, &study, series_uid, instance_uid),
            Err(SessionError::WrongPatient(m)) => self.audit_export_blocked(&patient_id, &study, series_uid, m),
            Err(_) => {}
        }
        exported
    }

    /// Drops cached images from memory and the persistent tier.
    pub async fn clear_cache(&self) {
        self.bridge.clear_cache().await;
    }

    /// The bridge's studies of the patient, as far as the server's pages go.
    async fn patient_studies(&self, patient_id: &str) -> Result<StudyList, BridgeError> {
        self.bridge.patient_studies(patient_id, &StudyFilter::default()).await
    }

    /// Awaits `work`; when it has not finished within the patience (the transport's timer),
    /// the status line says which server is being waited for, while `generation` is current.
    async fn patiently<F: Future>(&self, activity: Activity, generation: &Generation, work: F) -> F::Output {
        let mut work = std::pin::pin!(work);
        let mut timer = std::pin::pin!(self.bridge.http().transport().sleep(self.config.patience));
        let mut waiting = false;
        std::future::poll_fn(|cx| {
            if let Poll::Ready(done) = work.as_mut().poll(cx) {
                return Poll::Ready(done);
            }
            if !waiting && timer.as_mut().poll(cx).is_ready() {
                waiting = true;
                if generation.is_current() {
                    self.screen.apply(Update::Status(Status::Waiting(activity)));
                }
            }
            Poll::Pending
        })
        .await
    }

    fn set_patient(&self, patient: Patient) {
        let context = Arc::new(patient_context(&patient));
        self.state.borrow_mut().patient = Some((patient.clone(), context.clone()));
        self.screen.apply(Update::Patient { patient, context });
    }

    fn set_studies(&self, studies: Vec<Study>) {
        self.state.borrow_mut().studies = studies.clone();
        self.screen.apply(Update::Studies(studies));
    }

    /// The identity images are checked against, reading the patient first when a list was
    /// shown before its banner (`renderStudyList` then `openStudy` at once).
    async fn identity(&self, generation: &Generation) -> Result<Arc<PatientContext>, SessionError> {
        if let Some(context) = self.context() {
            return Ok(context);
        }
        let patient_id = self.patient_id().ok_or(SessionError::NoPatient)?;
        let patient = self.bridge.get_patient(&patient_id).await;
        if !generation.is_current() {
            return Err(SessionError::Superseded);
        }
        if self.context().is_none() {
            self.set_patient(patient.map_err(|e| self.fail(e.into()))?);
        }
        self.context().ok_or(SessionError::NoPatient)
    }

    /// The identity images are checked against, once the patient was read.
    fn context(&self) -> Option<Arc<PatientContext>> {
        self.state.borrow().patient.as_ref().map(|(_, c)| c.clone())
    }

    /// The study the user has open, as opened (its series listed) or as listed.
    fn selected_study(&self) -> Result<Study, SessionError> {
        let (selected, opened) = {
            let state = self.state.borrow();
            let selected = state.selected_study.clone().ok_or(SessionError::Superseded)?;
            let opened = state.opened.clone().filter(|s| s.study_uid == selected);
            (selected, opened)
        };
        match opened {
            Some(study) => Ok(study),
            None => self.listed_study(&selected).ok_or(SessionError::StudyNotLoaded(selected)),
        }
    }

    fn listed_study(&self, study_uid: &str) -> Option<Study> {
        self.state.borrow().studies.iter().find(|s| s.study_uid == study_uid).cloned()
    }

    /// A study of the patient in context, or of the last fetch, with whose it is.
    fn known_study(&self, study_uid: &str) -> Option<(String, Study)> {
        let state = self.state.borrow();
        if let (Some(patient), Some(study)) = (&state.patient_id, state.studies.iter().find(|s| s.study_uid == study_uid)) {
            return Some((patient.clone(), study.clone()));
        }
        let (patient, studies) = state.fetched.as_ref()?;
        studies.iter().find(|s| s.study_uid == study_uid).map(|s| (patient.clone(), s.clone()))
    }

    /// Withholds everything drawn: a wrong image is worse than no image.
    /// What a document read means for the session: read (`Some`), of another class than the
    /// reader's and so skipped (`None`), undecodable, or another patient's, which blocks.
    fn document<D>(&self, read: Result<D, DocumentError>) -> Result<Option<D>, SessionError> {
        match read {
            Ok(document) => Ok(Some(document)),
            Err(DocumentError::OtherClass(..)) => Ok(None),
            Err(DocumentError::Imaging(e)) => Err(e.into()),
            Err(DocumentError::WrongPatient(m)) => Err(self.block(m)),
        }
    }

    fn block(&self, mismatch: IdentityMismatch) -> SessionError {
        self.audit_blocked(&mismatch);
        {
            let mut state = self.state.borrow_mut();
            state.stack = None;
            state.shown = None;
            if let Some((_, comparison)) = state.comparison.take() {
                comparison.token().cancel();
            }
        }
        self.screen.apply(Update::Blocked(mismatch.clone()));
        self.fail(SessionError::WrongPatient(mismatch))
    }

    /// Tells the user and the host, and hands the error back for the caller.
    fn fail(&self, error: SessionError) -> SessionError {
        self.screen.failed(&error);
        error
    }
}
