//! The upload panel's owner (`upload` option). Files are read and checked here, against the
//! patient in context, the moment they are given; "Send" puts the chosen studies' files into
//! the IndexedDB queue, and one run at a time sends the queue with STOW-RS until the server
//! confirmed each file. A reload, or the `online` event, resumes it. Files wait per patient
//! and are sent, audited and listed under the patient they were checked against.

use super::component::Inner;
use super::events::{Event, UploadDetail, UploadOutcome};
use super::window_listener::WindowListener;
use crate::audit::StudyRef;
use crate::dicomweb::{DicomWebClient, DicomWebError};
use crate::net::Transport;
use crate::session::patient_context;
use crate::upload::idb::{IdbQueue, Queued};
use crate::upload::intake::{cd_files, content_of, is_dicomdir, Content, FileState, Intake};
use crate::upload::photo::{vl_photo, BodySite, PhotoContext, Picture};
use crate::upload::queue::{run, Limits, Observer};
use crate::upload::stow::InstanceOutcome;
use crate::upload::{dicomdir, uid_from_random, LocalFile};
use crate::view::{UploadNote, UploadView};
use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use leptos::prelude::{GetUntracked, Set};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::{Rc, Weak};
use url::Url;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// `upload: true` or `{ stowBaseUrl?, createImagingStudy? }`.
#[derive(Debug, Clone, Default)]
pub struct UploadConfig {
    /// The STOW-RS service; else the one the patient's studies are retrieved from.
    pub stow_base: Option<Url>,
    /// After an upload, write an ImagingStudy (with its Endpoint) to the FHIR server.
    pub create_imaging_study: bool,
}

/// Files queued per IndexedDB transaction: bounded, so a CD is not held in memory at once.
const QUEUE_CHUNK: usize = 16;

/// Where a ready file's bytes are until it is queued: the user's file (read again), or a
/// photo made here.
enum Source {
    File(web_sys::File),
    Made(Rc<Vec<u8>>),
}

pub(super) struct Uploader {
    component: Weak<Inner>,
    config: UploadConfig,
    /// `dicomwebBaseUrl`: the service of every study, when the host set one.
    dicomweb_base: Option<Url>,
    intake: RefCell<Intake>,
    note: RefCell<Option<UploadNote>>,
    body_site: Cell<Option<usize>>,
    sources: RefCell<HashMap<String, Source>>,
    /// The patient in context's queue, once its service is known.
    queue: RefCell<Option<Rc<IdbQueue>>>,
    running: Cell<bool>,
    again: Cell<bool>,
    last_seq: Cell<f64>,
    /// The study this patient's photos of this page go into.
    photo_study: RefCell<Option<String>>,
    /// Studies already audited and listed after their upload.
    finished: RefCell<HashSet<String>>,
    _online: Option<WindowListener>,
}

impl Uploader {
    pub fn new(component: Weak<Inner>, config: UploadConfig, dicomweb_base: Option<Url>) -> Rc<Uploader> {
        Rc::new_cyclic(|weak: &Weak<Uploader>| {
            let weak = weak.clone();
            let online = WindowListener::new("online", move || {
                if let Some(u) = weak.upgrade() {
                    u.kick();
                }
            });
            Uploader {
                component,
                config,
                dicomweb_base,
                intake: RefCell::new(Intake::default()),
                note: RefCell::new(None),
                body_site: Cell::new(None),
                sources: RefCell::new(HashMap::new()),
                queue: RefCell::new(None),
                running: Cell::new(false),
                again: Cell::new(false),
                last_seq: Cell::new(0.0),
                photo_study: RefCell::new(None),
                finished: RefCell::new(HashSet::new()),
                _online: online,
            }
        })
    }

    /// The panel's state into the view.
    fn publish(&self) {
        let Some(inner) = self.component.upgrade() else { return };
        let view = UploadView { intake: self.intake.borrow().clone(), note: self.note.borrow().clone(), body_site: self.body_site.get() };
        inner.face.store().upload.set(Some(view));
    }

    fn say(&self, note: Option<UploadNote>) {
        *self.note.borrow_mut() = note;
        self.publish();
    }

    /// Shows the empty panel (at construction).
    pub fn show(&self) {
        self.publish();
    }

    /// The previous patient's files leave the list at once; their queue stops after the
    /// request in flight and waits for that patient's next visit.
    pub fn on_patient_cleared(&self) {
        if let Some(queue) = self.queue.borrow_mut().take() {
            queue.close();
        }
        *self.intake.borrow_mut() = Intake::default();
        self.sources.borrow_mut().clear();
        *self.photo_study.borrow_mut() = None;
        *self.note.borrow_mut() = None;
        self.publish();
    }

    /// The study list is known: the patient's queue (left by an earlier page) is listed again
    /// and goes on.
    pub fn on_studies(self: &Rc<Self>) {
        if self.queue.borrow().is_some() {
            return;
        }
        let (Some(inner), Some(base)) = (self.component.upgrade(), self.destination()) else { return };
        let Some(patient_id) = inner.session.patient_id() else { return };
        let queue = Rc::new(IdbQueue::new(base.as_str(), &patient_id));
        *self.queue.borrow_mut() = Some(queue.clone());
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            match queue.listed().await {
                Ok(files) if !files.is_empty() => {
                    if !this.is_current(&queue) {
                        return;
                    }
                    for (name, bytes) in files {
                        if let Ok(file) = LocalFile::read(&name, &bytes) {
                            this.intake.borrow_mut().add_queued(file);
                        }
                    }
                    this.publish();
                    this.kick();
                }
                Ok(_) => {}
                Err(e) => this.say(Some(UploadNote::Store(e.to_string()))),
            }
        });
    }

    fn is_current(&self, queue: &Rc<IdbQueue>) -> bool {
        self.queue.borrow().as_ref().is_some_and(|q| Rc::ptr_eq(q, queue))
    }

    /// The STOW-RS service: the option, else `dicomwebBaseUrl`, else the DICOMweb service the
    /// patient's first listed study is retrieved from (PS3.18 serves STOW-RS at the same root).
    fn destination(&self) -> Option<Url> {
        if let Some(base) = self.config.stow_base.clone().or_else(|| self.dicomweb_base.clone()) {
            return Some(base);
        }
        let inner = self.component.upgrade()?;
        let studies = inner.face.store().studies.get_untracked();
        studies.iter().find_map(|s| s.dicomweb_base.as_deref().and_then(|b| Url::parse(b).ok()))
    }

    pub fn handle(self: &Rc<Self>, action: crate::view::Action) {
        use crate::view::Action as A;
        match action {
            A::UploadFiles(files) => {
                let this = self.clone();
                wasm_bindgen_futures::spawn_local(async move { this.add(files).await });
            }
            A::UploadChoose(study_uid, chosen) => {
                self.intake.borrow_mut().choose(&study_uid, chosen);
                self.publish();
            }
            A::UploadSend => {
                let this = self.clone();
                wasm_bindgen_futures::spawn_local(async move { this.send().await });
            }
            A::UploadBodySite(site) => {
                self.body_site.set(site);
                self.publish();
            }
            A::UploadClear => {
                self.intake.borrow_mut().clear_finished();
                self.publish();
            }
            _ => {}
        }
    }

    /// Reads and checks each file. A CD's DICOMDIR, when given, says which files are the CD's.
    async fn add(self: &Rc<Self>, files: Vec<(String, web_sys::File)>) {
        let Some(inner) = self.component.upgrade() else { return };
        let Some(patient) = inner.session.patient() else {
            self.say(Some(UploadNote::NoPatient));
            return;
        };
        let context = patient_context(&patient);
        let still = |this: &Self| this.component.upgrade().and_then(|i| i.session.patient_id()).as_deref() == Some(patient.id.as_str());
        let mut chosen: Vec<usize> = (0..files.len()).filter(|&i| !is_dicomdir(&files[i].0)).collect();
        if let Some(d) = files.iter().position(|(p, _)| is_dicomdir(p)) {
            let named = read(&files[d].1).await.map_err(|e| e.to_string()).and_then(|b| dicomdir::files(&b).map_err(|e| e.to_string()));
            match named {
                Ok(records) => {
                    let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
                    let cd = cd_files(&files[d].0, &records, &paths);
                    let mut intake = self.intake.borrow_mut();
                    for path in cd.missing {
                        intake.add_refused(&path, 0, "named by the DICOMDIR, but not among the files given".into());
                    }
                    chosen = cd.named;
                }
                Err(reason) => self.intake.borrow_mut().add_refused(&files[d].0, files[d].1.size() as usize, reason),
            }
        }
        for i in chosen {
            let (name, file) = &files[i];
            let bytes = match read(file).await {
                Ok(b) => b,
                Err(e) => {
                    self.intake.borrow_mut().add_refused(name, file.size() as usize, e.to_string());
                    continue;
                }
            };
            if !still(self) {
                return;
            }
            let made = match content_of(&bytes) {
                Content::Jpeg => self.photo(&patient, Picture::Jpeg(&bytes)).map(Some),
                Content::Png => match png_pixels(file).await {
                    Ok((width, height, pixels)) => self.photo(&patient, Picture::Rgb { width, height, pixels: &pixels }).map(Some),
                    Err(e) => Err(format!("the PNG could not be decoded: {e}")),
                },
                Content::Other => Ok(None),
            };
            if !still(self) {
                return;
            }
            let (bytes, source) = match made {
                Ok(Some(photo)) => {
                    let photo = Rc::new(photo);
                    ((*photo).clone(), Source::Made(photo))
                }
                Ok(None) => (bytes, Source::File(file.clone())),
                Err(reason) => {
                    self.intake.borrow_mut().add_refused(name, bytes.len(), reason);
                    self.publish();
                    continue;
                }
            };
            match LocalFile::accept(name, &bytes, &context) {
                Ok(local) => {
                    self.sources.borrow_mut().insert(local.sop_instance_uid.clone(), source);
                    self.intake.borrow_mut().add_file(local);
                }
                Err(refusal) => {
                    let reason = refusal.to_string();
                    self.intake.borrow_mut().add_refused(name, bytes.len(), reason.clone());
                    inner.face.emit(
                        Event::Upload,
                        to_js(&UploadDetail {
                            name,
                            sop_instance_uid: None,
                            study_uid: None,
                            outcome: UploadOutcome::Refused.as_str(),
                            code: None,
                            reason: Some(&reason),
                        }),
                    );
                }
            }
            self.publish();
        }
        self.publish();
    }

    /// A JPEG or PNG as a VL Photographic Image of the patient, in this page's photo study.
    fn photo(&self, patient: &crate::fhir::Patient, picture: Picture<'_>) -> Result<Vec<u8>, String> {
        let patient_id = patient.identifiers.first().cloned().ok_or("the patient has no identifier to write as Patient ID")?;
        // New UIDs must never collide: without the browser's CSPRNG no photo is made.
        random_bytes().ok_or("this browser gave no random numbers for new UIDs")?;
        let mut random = || random_bytes().unwrap_or_default();
        let study = self.photo_study.borrow_mut().get_or_insert_with(|| uid_from_random(random())).clone();
        let (date, time) = now();
        let context = PhotoContext {
            patient: patient.clone(),
            patient_id,
            study_uid: Some(study),
            accession: None,
            body_site: self.body_site.get().and_then(BodySite::listed),
            date,
            time,
            description: Some("Clinical photo".into()),
        };
        vl_photo(picture, &context, &mut random).map(|p| p.part10).map_err(|e| e.to_string())
    }

    /// The ready files of the chosen studies go into the queue, a chunk per transaction.
    async fn send(self: &Rc<Self>) {
        let Some(base) = self.destination() else {
            self.say(Some(UploadNote::NoDestination));
            return;
        };
        let Some(inner) = self.component.upgrade() else { return };
        let Some(patient_id) = inner.session.patient_id() else {
            self.say(Some(UploadNote::NoPatient));
            return;
        };
        let queue = {
            let mut slot = self.queue.borrow_mut();
            slot.get_or_insert_with(|| Rc::new(IdbQueue::new(base.as_str(), &patient_id))).clone()
        };
        let files: Vec<LocalFile> = self.intake.borrow().to_send().into_iter().cloned().collect();
        for chunk in files.chunks(QUEUE_CHUNK) {
            let mut queued = Vec::new();
            for f in chunk {
                let source = match self.sources.borrow().get(&f.sop_instance_uid) {
                    Some(Source::File(file)) => Ok(file.clone()),
                    Some(Source::Made(bytes)) => Err(bytes.clone()),
                    None => continue,
                };
                let bytes = match source {
                    Ok(file) => match read(&file).await {
                        Ok(b) => b,
                        Err(e) => {
                            self.intake.borrow_mut().set_state(&f.sop_instance_uid, FileState::Refused(e.to_string()));
                            continue;
                        }
                    },
                    Err(made) => (*made).clone(),
                };
                let seq = js_sys::Date::now().max(self.last_seq.get() + 0.001);
                self.last_seq.set(seq);
                queued.push(Queued { sop_instance_uid: f.sop_instance_uid.clone(), name: f.name.clone(), seq, bytes });
            }
            if !self.is_current(&queue) {
                return;
            }
            if let Err(e) = queue.put(&queued).await {
                self.say(Some(UploadNote::Store(e.to_string())));
                return;
            }
            for q in &queued {
                self.sources.borrow_mut().remove(&q.sop_instance_uid);
                self.intake.borrow_mut().set_state(&q.sop_instance_uid, FileState::Queued);
            }
            self.publish();
            self.kick();
        }
    }

    /// Starts the run, or asks the running one to look at the queue again when it ends.
    fn kick(self: &Rc<Self>) {
        if self.running.get() {
            self.again.set(true);
            return;
        }
        let Some(queue) = self.queue.borrow().clone() else { return };
        self.running.set(true);
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            loop {
                this.again.set(false);
                let Some(inner) = this.component.upgrade() else { break };
                inner.session.ensure_token().await;
                let Ok(base) = Url::parse(queue.base()) else { break };
                let client = DicomWebClient::new(&base);
                let observer = Progress { uploader: &this, queue: &queue, inner: &inner };
                let ran = run(inner.session.bridge().http(), &client, &*queue, Limits::default(), &observer).await;
                match ran {
                    Ok(ran) if ran.empty => {
                        if this.is_current(&queue) && matches!(*this.note.borrow(), Some(UploadNote::Offline(_))) {
                            this.say(None);
                        }
                    }
                    // Out of attempts: a server that is down fires no `online`, so the queue
                    // tries again after the longest wait, for as long as the page lives.
                    Ok(_) if this.is_current(&queue) => {
                        inner.session.bridge().http().transport().sleep(Limits::default().max_wait).await;
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) => this.say(Some(UploadNote::Store(e.to_string()))),
                }
                if !this.again.get() {
                    break;
                }
            }
            this.running.set(false);
            // A patient opened meanwhile has its own queue: it starts now.
            if this.queue.borrow().as_ref().is_some_and(|q| !Rc::ptr_eq(q, &queue)) {
                this.kick();
            }
        });
    }

    /// Every file of the study is answered for: the upload is audited, and the study listed.
    fn study_finished(self: &Rc<Self>, inner: &Rc<Inner>, queue: &Rc<IdbQueue>, study_uid: &str) {
        if !self.finished.borrow_mut().insert(study_uid.to_string()) {
            return;
        }
        let (stored, accession) = {
            let intake = self.intake.borrow();
            let accession = intake
                .entries()
                .iter()
                .filter_map(|e| e.file.as_ref())
                .find(|f| f.study_uid == study_uid)
                .and_then(|f| f.accession.clone());
            (intake.stored_of(study_uid), accession)
        };
        if !stored.is_empty() {
            inner.session.audit_created(queue.patient_id(), StudyRef { uid: study_uid.to_string(), accession, fhir_id: None }, stored);
        }
        // Listed only while its patient is on screen: the session checks the PACS's patient
        // against the one in context, and would rightly refuse another's.
        let Ok(base) = Url::parse(queue.base()) else { return };
        if !self.is_current(queue) {
            return;
        }
        let (inner, study_uid, create) = (inner.clone(), study_uid.to_string(), self.config.create_imaging_study);
        wasm_bindgen_futures::spawn_local(async move {
            inner.session.ensure_token().await;
            // Failures reach the host through the session's error path; the files are stored.
            let _ = inner.session.show_uploaded(&base, &study_uid, create).await;
        });
    }
}

/// What a run tells, into the panel and the host's `upload` events.
struct Progress<'a> {
    uploader: &'a Rc<Uploader>,
    queue: &'a Rc<IdbQueue>,
    inner: &'a Rc<Inner>,
}

impl Observer for Progress<'_> {
    fn sending(&self, uids: &[String]) {
        if !self.uploader.is_current(self.queue) {
            return;
        }
        let mut intake = self.uploader.intake.borrow_mut();
        for uid in uids {
            intake.set_state(uid, FileState::Sending);
        }
        drop(intake);
        self.uploader.publish();
    }

    fn outcome(&self, uid: &str, outcome: &InstanceOutcome) {
        let current = self.uploader.is_current(self.queue);
        let study = {
            let intake = self.uploader.intake.borrow();
            intake
                .entries()
                .iter()
                .filter_map(|e| e.file.as_ref())
                .find(|f| f.sop_instance_uid == uid)
                .map(|f| (f.name.clone(), f.study_uid.clone()))
        };
        if let Some((code_outcome, code)) = UploadOutcome::of(outcome) {
            let (name, study_uid) = match (&study, current) {
                (Some((n, s)), true) => (n.as_str(), Some(s.as_str())),
                _ => ("", None),
            };
            self.inner.face.emit(
                Event::Upload,
                to_js(&UploadDetail { name, sop_instance_uid: Some(uid), study_uid, outcome: code_outcome.as_str(), code, reason: None }),
            );
        }
        if !current {
            return;
        }
        let state = if outcome.is_done() { FileState::Done(outcome.clone()) } else { FileState::Queued };
        self.uploader.intake.borrow_mut().set_state(uid, state);
        self.uploader.publish();
        if let Some((_, study_uid)) = study {
            if self.uploader.intake.borrow().study_finished(&study_uid) {
                self.uploader.study_finished(self.inner, self.queue, &study_uid);
            }
        }
    }

    fn failed(&self, error: &DicomWebError) {
        if self.uploader.is_current(self.queue) {
            self.uploader.say(Some(UploadNote::Offline(error.to_string())));
        }
    }
}

/// A file's bytes.
async fn read(file: &web_sys::File) -> Result<Vec<u8>, ReadError> {
    let buffer = JsFuture::from(file.array_buffer()).await.map_err(|_| ReadError)?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

#[derive(Debug, thiserror::Error)]
#[error("the file could not be read (moved, or access withdrawn)")]
struct ReadError;

/// A PNG's pixels as RGB, decoded by the browser without colour conversion (a lossless photo
/// keeps the values the file holds; a 16-bit PNG arrives as 8 bits).
async fn png_pixels(file: &web_sys::File) -> Result<(u32, u32, Vec<u8>), String> {
    let window = web_sys::window().ok_or("no window")?;
    let options = Object::new();
    for (k, v) in [("colorSpaceConversion", "none"), ("premultiplyAlpha", "none")] {
        let _ = Reflect::set(&options, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    let create: Function = Reflect::get(&window, &JsValue::from_str("createImageBitmap"))
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or("no createImageBitmap")?;
    let promise: Promise = create.call2(&window, file, &options).map_err(|_| "refused")?.dyn_into().map_err(|_| "refused")?;
    let bitmap: web_sys::ImageBitmap =
        JsFuture::from(promise).await.map_err(|_| "not a picture")?.dyn_into().map_err(|_| "not a picture")?;
    let (width, height) = (bitmap.width(), bitmap.height());
    let canvas = web_sys::OffscreenCanvas::new(width, height).map_err(|_| "no canvas")?;
    let context: web_sys::OffscreenCanvasRenderingContext2d =
        canvas.get_context("2d").ok().flatten().and_then(|c| c.dyn_into().ok()).ok_or("no 2d context")?;
    context.draw_image_with_image_bitmap(&bitmap, 0.0, 0.0).map_err(|_| "could not be drawn")?;
    let rgba = context.get_image_data(0.0, 0.0, width as f64, height as f64).map_err(|_| "could not be read back")?.data();
    let rgb = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    Ok((width, height, rgb))
}

/// `YYYYMMDD`, `HHMMSS` local time: when the photo was added.
fn now() -> (String, String) {
    let d = js_sys::Date::new_0();
    (
        format!("{:04}{:02}{:02}", d.get_full_year(), d.get_month() + 1, d.get_date()),
        format!("{:02}{:02}{:02}", d.get_hours(), d.get_minutes(), d.get_seconds()),
    )
}

/// 16 bytes from the browser's CSPRNG.
fn random_bytes() -> Option<[u8; 16]> {
    super::crypto_random()
}

fn to_js<T: serde::Serialize>(value: &T) -> JsValue {
    super::component::to_js(value).unwrap_or(JsValue::NULL)
}
