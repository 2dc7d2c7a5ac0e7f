//! The session's clinical rules, natively: a patient switch clears at once, a stale answer is
//! dropped, a cancelled fetch is never cached, and an image of another patient blocks.
//!
//! The servers here are in memory (`HeldServers`): these tests need answers held back and
//! released in a chosen order, and a clock the test moves, which real servers cannot be made to
//! do. The same session runs against the real Orthanc and FHIR server in `tests/servers.rs`.
#![cfg(not(target_arch = "wasm32"))]

use super::*;
use crate::bridge::{BridgeConfig, SeriesKind};
use crate::imaging::key_objects::tests::selection_part10;
use crate::imaging::key_objects::KEY_OBJECT_SELECTION_SOP_CLASS;
use crate::imaging::presentation_state::tests::state_part10;
use crate::imaging::presentation_state::GRAYSCALE_SOFTCOPY_PRESENTATION_STATE;
use crate::net::native::block_on;
use crate::net::{NetError, Request, Response};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

const FHIR: &str = "http://fhir.test/fhir/";
const PACS: &str = "http://pacs.test/dicom-web";

/// A Part 10 file (explicit VR little endian) of a 2×2 16-bit MONOCHROME2 image.
fn part10(patient_id: &str, family: &str, study: &str, series: &str, sop: &str, number: u32) -> Vec<u8> {
    fn element(out: &mut Vec<u8>, group: u16, elem: u16, vr: &str, value: &[u8]) {
        let mut value = value.to_vec();
        if value.len() % 2 == 1 {
            value.push(if vr == "UI" { 0 } else { b' ' });
        }
        out.extend(group.to_le_bytes());
        out.extend(elem.to_le_bytes());
        out.extend(vr.as_bytes());
        if matches!(vr, "OB" | "OW") {
            out.extend([0, 0]);
            out.extend((value.len() as u32).to_le_bytes());
        } else {
            out.extend((value.len() as u16).to_le_bytes());
        }
        out.extend(value);
    }
    let ct = b"1.2.840.10008.5.1.4.1.1.2";
    let mut meta = Vec::new();
    element(&mut meta, 0x0002, 0x0001, "OB", &[0, 1]);
    element(&mut meta, 0x0002, 0x0002, "UI", ct);
    element(&mut meta, 0x0002, 0x0003, "UI", sop.as_bytes());
    element(&mut meta, 0x0002, 0x0010, "UI", b"1.2.840.10008.1.2.1");
    let mut out = vec![0u8; 128];
    out.extend(b"DICM");
    element(&mut out, 0x0002, 0x0000, "UL", &(meta.len() as u32).to_le_bytes());
    out.extend(meta);
    let us = |v: u16| v.to_le_bytes().to_vec();
    element(&mut out, 0x0008, 0x0016, "UI", ct);
    element(&mut out, 0x0008, 0x0018, "UI", sop.as_bytes());
    element(&mut out, 0x0008, 0x0060, "CS", b"CT");
    element(&mut out, 0x0010, 0x0010, "PN", format!("{family}^Ann").as_bytes());
    element(&mut out, 0x0010, 0x0020, "LO", patient_id.as_bytes());
    element(&mut out, 0x0020, 0x000D, "UI", study.as_bytes());
    element(&mut out, 0x0020, 0x000E, "UI", series.as_bytes());
    element(&mut out, 0x0020, 0x0013, "IS", number.to_string().as_bytes());
    element(&mut out, 0x0028, 0x0002, "US", &us(1));
    element(&mut out, 0x0028, 0x0004, "CS", b"MONOCHROME2");
    element(&mut out, 0x0028, 0x0010, "US", &us(2));
    element(&mut out, 0x0028, 0x0011, "US", &us(2));
    element(&mut out, 0x0028, 0x0100, "US", &us(16));
    element(&mut out, 0x0028, 0x0101, "US", &us(12));
    element(&mut out, 0x0028, 0x0102, "US", &us(11));
    element(&mut out, 0x0028, 0x0103, "US", &us(0));
    element(&mut out, 0x7FE0, 0x0010, "OW", &[0, 0, 100, 0, 200, 0, 0x10, 0x01]);
    out
}

/// One instance the PACS holds, and whose header it carries.
#[derive(Clone)]
struct Instance {
    series: String,
    sop: String,
    /// The header's PatientID and family name (another patient's, to test the guard).
    header: (String, String),
    /// A Key Object Selection (a rejection note when the flag is set) of these (series, SOP)
    /// instead of an image.
    selects: Option<(bool, Vec<(String, String)>)>,
    /// A presentation state (its Part 10 bytes) instead of an image.
    state: Option<Vec<u8>>,
}

#[derive(Clone)]
struct StudyData {
    patient: String,
    uid: String,
    started: String,
    instances: Vec<Instance>,
}

#[derive(Default)]
pub(crate) struct World {
    studies: Vec<StudyData>,
    /// URL fragments whose answers are held until released.
    held: RefCell<Vec<String>>,
    /// Every request, in order.
    seen: RefCell<Vec<String>>,
    /// Requests that ended cancelled while held.
    cancelled: RefCell<Vec<String>>,
    /// A zero sleep (one turn of the event loop) waits while this is set.
    turns_held: Cell<bool>,
    /// The transport's clock: it moves only when the test says so.
    clock: Cell<Duration>,
    /// A `next` link the study search answers with (another origin's, to test paging).
    next_page: Option<String>,
    /// R5 ImagingSelections the FHIR server serves; `None`: an R4 server, whose
    /// CapabilityStatement lists no ImagingSelection and whose search of it is an error.
    selections: Option<Vec<serde_json::Value>>,
    /// The ImagingSelection search fails although the CapabilityStatement lists it.
    selections_fail: bool,
    /// How a series retrieve (`…/studies/{study}/series/{series}`) is answered.
    series_retrieve: SeriesRetrieve,
}

/// What the server does with a WADO-RS series retrieve.
#[derive(Default, Clone, Copy)]
pub(crate) enum SeriesRetrieve {
    /// Every instance of the series, in the order they were stored.
    #[default]
    InOrder,
    /// Every instance, last stored first.
    Reversed,
    /// This many instances, then the response ends inside the next part.
    CutShort(usize),
    /// Every instance, but the one at this place in another series' data set (a PACS that
    /// mixed series up): its SOP Instance UID is the listed one's.
    OneFromElsewhere(usize),
    /// Not implemented (501), as by a server with instance retrieve only.
    Unsupported,
}

/// FHIR and DICOMweb in memory, with answers that can be held back.
#[derive(Clone)]
pub(crate) struct HeldServers(Rc<World>);

impl HeldServers {
    pub(crate) fn hold(&self, fragment: &str) {
        self.0.held.borrow_mut().push(fragment.to_string());
    }
    pub(crate) fn release(&self, fragment: &str) {
        self.0.held.borrow_mut().retain(|f| f != fragment);
    }
    pub(crate) fn seen(&self, fragment: &str) -> usize {
        self.0.seen.borrow().iter().filter(|u| u.contains(fragment)).count()
    }
    /// A fragment ending in `$` matches the end of the URL only.
    fn is_held(&self, url: &str) -> bool {
        self.0.held.borrow().iter().any(|f| f.strip_suffix('$').map_or(url.contains(f.as_str()), |end| url.ends_with(end)))
    }
    fn advance(&self, by: Duration) {
        self.0.clock.set(self.0.clock.get() + by);
    }

    fn answer(&self, url: &url::Url) -> Response {
        let json = |status: u16, body: serde_json::Value| Response {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        };
        let path = url.path();
        let query: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
        if let Some(id) = path.strip_prefix("/fhir/Patient/") {
            let (mrn, family) = match id {
                "a" => ("MRN-A", "Alpha"),
                "b" => ("MRN-B", "Beta"),
                _ => return json(404, serde_json::json!({"resourceType": "OperationOutcome"})),
            };
            return json(
                200,
                serde_json::json!({"resourceType": "Patient", "id": id,
                    "identifier": [{"system": "urn:mrn", "value": mrn}], "name": [{"family": family, "given": ["Ann"]}]}),
            );
        }
        if path == "/fhir/Patient" {
            // By identifier: MRN-A is patient a; DUP names two patients.
            let ids: &[&str] = match param("identifier").as_str() {
                "urn:mrn|MRN-A" => &["a"],
                "urn:mrn|DUP" => &["a", "b"],
                _ => &[],
            };
            let entries: Vec<serde_json::Value> = ids
                .iter()
                .map(|id| {
                    serde_json::json!({"resource": {"resourceType": "Patient", "id": id, "name": [{"family": "Alpha", "given": ["Ann"]}],
                    "identifier": [{"system": "urn:mrn", "value": "MRN-A"}]}})
                })
                .collect();
            return json(200, serde_json::json!({"resourceType": "Bundle", "type": "searchset", "entry": entries}));
        }
        if path == "/fhir/ImagingStudy" {
            let patient = param("patient");
            let identifier = param("identifier");
            let id = param("_id");
            let wanted = |s: &&StudyData| {
                if !id.is_empty() {
                    id == format!("fhir-{}", s.uid)
                } else if identifier.is_empty() {
                    s.patient == patient
                } else {
                    identifier == format!("urn:dicom:uid|urn:oid:{}", s.uid) || identifier == format!("ACC-{}", s.uid)
                }
            };
            let mut entries: Vec<serde_json::Value> =
                self.0.studies.iter().filter(wanted).map(|s| serde_json::json!({"resource": study_json(s)})).collect();
            entries.push(serde_json::json!({"search": {"mode": "include"}, "resource": {
                "resourceType": "Endpoint", "id": "pacs", "status": "active",
                "connectionType": {"system": "http://terminology.hl7.org/CodeSystem/endpoint-connection-type", "code": "dicom-wado-rs"},
                "payloadType": [{"text": "DICOM"}], "address": PACS}}));
            let link: Vec<serde_json::Value> =
                self.0.next_page.iter().map(|url| serde_json::json!({"relation": "next", "url": url})).collect();
            return json(200, serde_json::json!({"resourceType": "Bundle", "type": "searchset", "link": link, "entry": entries}));
        }
        if path == "/fhir/metadata" {
            let mut types = vec!["Patient", "ImagingStudy", "Endpoint"];
            if self.0.selections.is_some() {
                types.push("ImagingSelection");
            }
            let resources: Vec<serde_json::Value> = types.iter().map(|t| serde_json::json!({"type": t})).collect();
            return json(
                200,
                serde_json::json!({"resourceType": "CapabilityStatement", "rest": [{"mode": "server", "resource": resources}]}),
            );
        }
        if path == "/fhir/ImagingSelection" {
            let Some(selections) = self.0.selections.as_ref().filter(|_| !self.0.selections_fail) else {
                return json(
                    400,
                    serde_json::json!({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-supported"}]}),
                );
            };
            let (patient, study) = (param("patient"), param("study-uid"));
            let entries: Vec<serde_json::Value> = selections
                .iter()
                .filter(|r| r["studyUid"] == study.as_str() && r["subject"]["reference"].as_str().is_some_and(|s| s.ends_with(&patient)))
                .map(|r| serde_json::json!({"resource": r}))
                .collect();
            return json(200, serde_json::json!({"resourceType": "Bundle", "type": "searchset", "entry": entries}));
        }
        if path == "/fhir/DiagnosticReport" {
            return json(200, serde_json::json!({"resourceType": "Bundle", "type": "searchset", "entry": []}));
        }
        if path.ends_with("/series") {
            return json(200, serde_json::json!([]));
        }
        if let Some(sop) = path.rsplit("/instances/").next().filter(|_| path.contains("/instances/") && !path.ends_with("/metadata")) {
            for study in &self.0.studies {
                if let Some(i) = study.instances.iter().find(|i| i.sop == sop) {
                    let mut body = b"--b\r\nContent-Type: application/dicom\r\n\r\n".to_vec();
                    body.extend(instance_part10(study, i));
                    body.extend(b"\r\n--b--");
                    return multipart(body);
                }
            }
        }
        if let Some((study_uid, series_uid)) = path.split_once("/studies/").and_then(|(_, rest)| rest.split_once("/series/")) {
            let study = self.0.studies.iter().find(|s| s.uid == study_uid);
            let mut instances: Vec<&Instance> = study.iter().flat_map(|s| &s.instances).filter(|i| i.series == series_uid).collect();
            let study = study.filter(|_| !series_uid.contains('/') && !instances.is_empty());
            let Some(study) = study else { return json(404, serde_json::json!({})) };
            let cut = match self.0.series_retrieve {
                SeriesRetrieve::Unsupported => return json(501, serde_json::json!({})),
                SeriesRetrieve::Reversed => {
                    instances.reverse();
                    None
                }
                SeriesRetrieve::InOrder | SeriesRetrieve::OneFromElsewhere(_) => None,
                SeriesRetrieve::CutShort(n) => Some(n),
            };
            let mut body = Vec::new();
            for (n, i) in instances.iter().enumerate() {
                body.extend(b"--b\r\nContent-Type: application/dicom\r\n\r\n");
                let part = match self.0.series_retrieve {
                    SeriesRetrieve::OneFromElsewhere(at) if at == n => part10(&i.header.0, &i.header.1, &study.uid, "9.9", &i.sop, 1),
                    _ => instance_part10(study, i),
                };
                if cut == Some(n) {
                    body.extend(&part[..part.len() / 2]);
                    return multipart(body);
                }
                body.extend(part);
                body.extend(b"\r\n");
            }
            body.extend(b"--b--");
            return multipart(body);
        }
        json(404, serde_json::json!({}))
    }
}

/// An instance of `study` as the server stores it: its Part 10 bytes.
fn instance_part10(study: &StudyData, i: &Instance) -> Vec<u8> {
    let number = study.instances.iter().position(|x| x.sop == i.sop).unwrap_or(0) as u32 + 1;
    match (&i.state, &i.selects) {
        (Some(state), _) => state.clone(),
        (None, Some((rejection, keys))) => {
            let keys: Vec<(&str, &str)> = keys.iter().map(|(s, k)| (s.as_str(), k.as_str())).collect();
            selection_part10((&i.header.0, &i.header.1), &study.uid, &i.sop, *rejection, &keys)
        }
        (None, None) => part10(&i.header.0, &i.header.1, &study.uid, &i.series, &i.sop, number),
    }
}

/// A WADO-RS answer of DICOM parts delimited by `b`.
fn multipart(body: Vec<u8>) -> Response {
    Response {
        status: 200,
        headers: vec![("Content-Type".into(), "multipart/related; type=\"application/dicom\"; boundary=b".into())],
        body,
    }
}

fn study_json(s: &StudyData) -> serde_json::Value {
    let mut series: Vec<String> = s.instances.iter().map(|i| i.series.clone()).collect();
    series.dedup();
    let series: Vec<serde_json::Value> = series
        .iter()
        .enumerate()
        .map(|(n, uid)| {
            let instances: Vec<serde_json::Value> = s
                .instances
                .iter()
                .filter(|i| &i.series == uid)
                .enumerate()
                .map(|(k, i)| {
                    let class = match (&i.selects, &i.state) {
                        (_, Some(_)) => GRAYSCALE_SOFTCOPY_PRESENTATION_STATE,
                        (Some(_), None) => KEY_OBJECT_SELECTION_SOP_CLASS,
                        (None, None) => "1.2.840.10008.5.1.4.1.1.2",
                    };
                    serde_json::json!({"uid": i.sop, "number": k + 1, "sopClass": {"code": format!("urn:oid:{class}")}})
                })
                .collect();
            let key_objects = s.instances.iter().any(|i| &i.series == uid && i.selects.is_some());
            let states = s.instances.iter().any(|i| &i.series == uid && i.state.is_some());
            let modality = if states {
                "PR"
            } else if key_objects {
                "KO"
            } else {
                "CT"
            };
            serde_json::json!({"uid": uid, "number": n + 1, "modality": {"code": modality}, "numberOfInstances": instances.len(), "instance": instances})
        })
        .collect();
    serde_json::json!({"resourceType": "ImagingStudy", "id": format!("fhir-{}", s.uid), "status": "available",
        "identifier": [{"system": "urn:dicom:uid", "value": format!("urn:oid:{}", s.uid)},
            {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "ACSN"}]}, "value": format!("ACC-{}", s.uid)}],
        "subject": {"reference": format!("Patient/{}", s.patient)}, "started": s.started,
        "endpoint": [{"reference": "Endpoint/pacs"}], "series": series})
}

impl Transport for HeldServers {
    async fn send(&self, request: Request) -> Result<Response, NetError> {
        let url = request.url.to_string();
        self.0.seen.borrow_mut().push(url.clone());
        // Held: wait (waking ourselves, so every executor polls again) until released or cancelled.
        // A held request dropped after its token was cancelled counts as aborted too, as the
        // browser's fetch is aborted by the token itself, polled or not.
        struct Aborted<'a>(&'a HeldServers, &'a Request, Option<String>);
        impl Drop for Aborted<'_> {
            fn drop(&mut self) {
                if let Some(url) = self.2.take().filter(|_| self.1.is_cancelled()) {
                    self.0 .0.cancelled.borrow_mut().push(url);
                }
            }
        }
        let mut guard = Aborted(self, &request, Some(url.clone()));
        std::future::poll_fn(|cx| {
            if request.is_cancelled() || !self.is_held(&url) {
                std::task::Poll::Ready(())
            } else {
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
        .await;
        if request.is_cancelled() {
            drop(guard);
            return Err(NetError::Unreachable { url, message: "aborted".into() });
        }
        guard.2 = None;
        Ok(self.answer(&request.url))
    }
    /// Zero is one turn; anything longer ends when the test has moved the clock that far.
    async fn sleep(&self, duration: Duration) {
        let until = self.0.clock.get() + duration;
        until_true(|| self.0.clock.get() >= until && !(duration.is_zero() && self.0.turns_held.get())).await
    }
    fn now_unix(&self) -> f64 {
        0.0
    }
    fn jitter(&self) -> f64 {
        0.0
    }
}

/// Every update, in order, and every failure reported with the number of updates before it.
#[derive(Default)]
pub(crate) struct Recorder(pub(crate) RefCell<Vec<Update>>, pub(crate) RefCell<Vec<(usize, SessionError)>>);

impl Screen for Recorder {
    fn apply(&self, update: Update) {
        self.0.borrow_mut().push(update);
    }
    fn failed(&self, error: &SessionError) {
        self.1.borrow_mut().push((self.0.borrow().len(), error.clone()));
    }
}

pub(crate) type TestSession = Session<HeldServers, Rc<Recorder>>;

fn instance(series: &str, sop: &str, header: (&str, &str)) -> Instance {
    Instance { series: series.into(), sop: sop.into(), header: (header.0.into(), header.1.into()), selects: None, state: None }
}

/// A presentation state of `patient` in series `series`, for images `sops` of `images`.
fn presentation(series: &str, patient: (&str, &str), images: &str, sops: &[&str]) -> Instance {
    Instance { state: Some(state_part10(patient, images, sops)), ..instance(series, &format!("{series}.1"), patient) }
}

fn selection(series: &str, sop: &str, header: (&str, &str), rejection: bool, keys: &[(&str, &str)]) -> Instance {
    let keys = keys.iter().map(|(s, k)| (s.to_string(), k.to_string())).collect();
    Instance { selects: Some((rejection, keys)), ..instance(series, sop, header) }
}

const A: (&str, &str) = ("MRN-A", "Alpha");
const B: (&str, &str) = ("MRN-B", "Beta");

/// Patient a: study 1.1 (series 1.1.1 with three instances, 1.1.2 with one) and an older 1.2;
/// patient b: study 2.1 with one instance.
pub(crate) fn world() -> World {
    World {
        studies: vec![
            StudyData {
                patient: "a".into(),
                uid: "1.1".into(),
                started: "2026-05-01".into(),
                instances: vec![
                    instance("1.1.1", "1.1.1.1", A),
                    instance("1.1.1", "1.1.1.2", A),
                    instance("1.1.1", "1.1.1.3", A),
                    instance("1.1.2", "1.1.2.1", A),
                ],
            },
            StudyData {
                patient: "a".into(),
                uid: "1.2".into(),
                started: "2025-01-01".into(),
                instances: vec![instance("1.2.1", "1.2.1.1", A)],
            },
            StudyData {
                patient: "b".into(),
                uid: "2.1".into(),
                started: "2026-01-01".into(),
                instances: vec![instance("2.1.1", "2.1.1.1", B)],
            },
        ],
        ..World::default()
    }
}

pub(crate) fn session_with(world: World) -> (TestSession, HeldServers, Rc<Recorder>) {
    session_configured(world, SessionConfig::default())
}

fn session_configured(world: World, session_config: SessionConfig) -> (TestSession, HeldServers, Rc<Recorder>) {
    let servers = HeldServers(Rc::new(world));
    let config = BridgeConfig { memory_budget: 1 << 24, ..BridgeConfig::new(url::Url::parse(FHIR).expect("test URL")) };
    let screen = Rc::new(Recorder::default());
    let session = Session::new(ImagingBridge::new(servers.clone(), &config), session_config, screen.clone());
    (session, servers, screen)
}

pub(crate) fn session() -> (TestSession, HeldServers, Rc<Recorder>) {
    session_with(world())
}

/// Resolves once `ready()` holds (waking itself, so every executor polls again).
pub(crate) async fn until_true(ready: impl Fn() -> bool) {
    std::future::poll_fn(|cx| {
        if ready() {
            std::task::Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

/// Gives the other futures of a `join` `turns` polls.
async fn turns(turns: usize) {
    let left = Cell::new(turns);
    until_true(|| {
        left.set(left.get().saturating_sub(1));
        left.get() == 0
    })
    .await
}

/// Runs `first` until `ready()` holds, then `second` as well; both to completion.
pub(crate) fn interleave<A: Future, B: Future>(first: A, ready: impl Fn() -> bool, second: impl FnOnce() -> B) -> (A::Output, B::Output) {
    block_on(futures_util::future::join(first, async {
        until_true(ready).await;
        second().await
    }))
}

/// The (instance uid, patient id) of every image sent to the screen after the last `Cleared`.
pub(crate) fn images_since_clear(screen: &Recorder) -> Vec<(String, String)> {
    let updates = screen.0.borrow();
    let from = updates.iter().rposition(|u| matches!(u, Update::Cleared { .. })).map_or(0, |i| i + 1);
    updates[from..]
        .iter()
        .filter_map(|u| match u {
            Update::Image(s) => Some((s.instance_uid.clone(), s.image.patient().id.clone())),
            Update::StackFrame { instance_uid, image, .. } => Some((instance_uid.clone(), image.patient().id.clone())),
            Update::Thumbnail { image, series_uid, .. } => Some((series_uid.clone(), image.patient().id.clone())),
            _ => None,
        })
        .collect()
}

pub(crate) fn count(screen: &Recorder, f: impl Fn(&Update) -> bool) -> usize {
    screen.0.borrow().iter().filter(|u| f(u)).count()
}

#[test]
fn opening_a_patient_shows_their_newest_study_verified_for_them() {
    let (session, _, screen) = session();
    block_on(session.open_patient("a")).expect("opens");
    let updates = screen.0.borrow();
    assert!(matches!(updates[0], Update::Cleared { patient_changed: true }), "the switch comes first: {:?}", updates[0]);
    let studies = updates.iter().find_map(|u| if let Update::Studies(s) = u { Some(s.clone()) } else { None }).expect("a list");
    assert_eq!(studies.iter().map(|s| s.study_uid.as_str()).collect::<Vec<_>>(), ["1.1", "1.2"], "newest first");
    let Some(Update::Image(first)) = updates.iter().find(|u| matches!(u, Update::Image(_))) else { panic!("no image shown") };
    assert_eq!((first.study_uid.as_str(), first.instance_uid.as_str()), ("1.1", "1.1.1.1"));
    assert_eq!(first.image.patient().id, "a");
    drop(updates);
    let frames = count(&screen, |u| matches!(u, Update::StackFrame { .. }));
    assert_eq!(frames, 3, "the whole first series is stacked");
    let thumbs: Vec<String> = screen
        .0
        .borrow()
        .iter()
        .filter_map(|u| if let Update::Thumbnail { series_uid, .. } = u { Some(series_uid.clone()) } else { None })
        .collect();
    assert_eq!(thumbs, ["1.1.1", "1.1.2"], "one thumbnail per series");
    assert!(images_since_clear(&screen).iter().all(|(_, p)| p == "a"));
}

#[test]
fn a_switch_clears_the_screen_and_memory_before_returning() {
    let (session, servers, screen) = session();
    block_on(session.open_patient("a")).expect("opens");
    let before = servers.seen("/instances/1.1.1.1");
    let _ = session.switch_patient("b");
    assert!(matches!(screen.0.borrow().last(), Some(Update::Cleared { patient_changed: true })), "cleared synchronously");
    assert_eq!(session.patient(), None, "the previous patient is gone at once");
    // Memory is empty: the same instance needs the network again.
    block_on(session.open_patient("a")).expect("opens again");
    assert_eq!(servers.seen("/instances/1.1.1.1"), before + 1);
}

#[test]
fn reloading_the_same_patient_keeps_the_memory_cache() {
    let (session, servers, screen) = session();
    block_on(session.open_patient("a")).expect("opens");
    let before = servers.seen("/instances/");
    block_on(session.open_patient("a")).expect("opens again");
    assert!(screen.0.borrow().iter().any(|u| matches!(u, Update::Cleared { patient_changed: false })));
    assert_eq!(servers.seen("/instances/"), before, "every instance from memory");
}

#[test]
fn a_switch_during_a_load_drops_the_first_patients_images() {
    let (session, servers, screen) = session();
    servers.hold("/instances/1.1.1.1");
    let (a, b) = interleave(session.open_patient("a"), || servers.seen("/instances/1.1.1.1") > 0, || session.open_patient("b"));
    assert_eq!(a, Err(SessionError::Superseded));
    b.expect("b opens");
    let shown = images_since_clear(&screen);
    assert!(!shown.is_empty() && shown.iter().all(|(_, p)| p == "b"), "only b's images after the switch: {shown:?}");
    assert_eq!(session.patient().map(|p| p.id), Some("b".into()));
}

#[test]
fn a_stale_study_list_never_reaches_the_screen() {
    let (session, servers, screen) = session();
    servers.hold("ImagingStudy?patient=a");
    let (a, b) = interleave(
        session.open_patient("a"),
        || servers.seen("ImagingStudy?patient=a") > 0,
        || async {
            let b = session.open_patient("b").await;
            // b is on screen; now a's late answer arrives.
            servers.release("ImagingStudy?patient=a");
            b
        },
    );
    assert_eq!(a, Err(SessionError::Superseded));
    b.expect("b opens");
    let lists: Vec<Vec<String>> = screen
        .0
        .borrow()
        .iter()
        .filter_map(|u| if let Update::Studies(s) = u { Some(s.iter().map(|s| s.study_uid.clone()).collect()) } else { None })
        .collect();
    assert_eq!(lists, [vec!["2.1".to_string()]], "a's list was never shown");
    assert!(count(&screen, |u| matches!(u, Update::Patient { patient, .. } if patient.id == "a")) == 0);
}

#[test]
fn a_cancelled_fetch_is_aborted_and_never_cached() {
    let (session, servers, _) = session();
    servers.hold("/instances/1.1.1.1");
    let (a, _) = interleave(session.open_patient("a"), || servers.seen("/instances/1.1.1.1") > 0, || async { session.close() });
    assert_eq!(a, Err(SessionError::Superseded));
    assert_eq!(servers.0.cancelled.borrow().iter().filter(|u| u.contains("1.1.1.1")).count(), 1, "the held request was aborted");
    servers.release("/instances/1.1.1.1");
    block_on(session.open_patient("a")).expect("opens");
    assert_eq!(servers.seen("/instances/1.1.1.1"), 2, "nothing of the aborted fetch was cached");
}

#[test]
fn a_later_instance_of_another_patient_blocks_the_stack() {
    let mut w = world();
    w.studies[0].instances[2].header = (B.0.into(), B.1.into());
    let (session, _, screen) = session_with(w);
    let result = block_on(session.open_patient("a"));
    assert!(matches!(result, Err(SessionError::WrongPatient(IdentityMismatch::PatientId { .. }))), "{result:?}");
    let updates = screen.0.borrow();
    let blocked = updates.iter().position(|u| matches!(u, Update::Blocked(_))).expect("blocked");
    let failures = screen.1.borrow();
    assert!(
        matches!(failures.as_slice(), [(at, SessionError::WrongPatient(_))] if *at == blocked + 1),
        "the host hears of it once, right after the block: {failures:?}"
    );
    assert!(
        !updates.iter().any(|u| matches!(u, Update::StackFrame { instance_uid, .. } if instance_uid == "1.1.1.3")),
        "the other patient's instance never joined the stack"
    );
    assert!(!updates[blocked..].iter().any(|u| matches!(u, Update::Image(_) | Update::StackFrame { .. } | Update::Thumbnail { .. })));
}

#[test]
fn a_first_image_of_another_patient_is_never_shown() {
    let mut w = world();
    w.studies[0].instances[0].header = (A.0.into(), "Gamma".into());
    let (session, _, screen) = session_with(w);
    let result = block_on(session.open_patient("a"));
    assert!(matches!(result, Err(SessionError::WrongPatient(IdentityMismatch::PatientName { .. }))), "{result:?}");
    assert_eq!(count(&screen, |u| matches!(u, Update::Image(_))), 0);
    assert_eq!(count(&screen, |u| matches!(u, Update::Blocked(_))), 1);
}

#[test]
fn a_thumbnail_of_another_patient_blocks() {
    let mut w = world();
    w.studies[0].instances[3].header = (B.0.into(), B.1.into());
    let (session, _, screen) = session_with(w);
    let result = block_on(session.open_patient("a"));
    assert!(matches!(result, Err(SessionError::WrongPatient(_))), "{result:?}");
    assert!(!screen.0.borrow().iter().any(|u| matches!(u, Update::Thumbnail { series_uid, .. } if series_uid == "1.1.2")));
}

#[test]
fn a_series_requests_go_on_while_its_stacking_waits_for_a_turn() {
    let mut w = world();
    // Series 1.1.1 with more instances than requests in flight, from a server that retrieves
    // instances only.
    w.studies[0].instances = (1..=10).map(|n| instance("1.1.1", &format!("1.1.1.{n}"), A)).collect();
    w.series_retrieve = SeriesRetrieve::Unsupported;
    let (session, servers, screen) = session_with(w);
    // The stacking waits for a turn of the event loop after its first instance.
    servers.0.turns_held.set(true);
    let stacked = || count(&screen, |u| matches!(u, Update::StackFrame { .. }));
    let (opened, (seen, waiting)) = interleave(
        session.open_patient("a"),
        || true,
        || async {
            turns(200).await;
            let seen = (servers.seen("/instances/1.1.1."), stacked());
            servers.0.turns_held.set(false);
            seen
        },
    );
    opened.expect("opens");
    assert_eq!(waiting, 1, "the stacking was waiting after its first instance");
    assert_eq!(seen, 10, "every instance was requested while the stacking waited");
    assert_eq!(count(&screen, |u| matches!(u, Update::StackFrame { .. })), 10);
}

#[test]
fn opening_another_study_stops_the_first_studys_loads() {
    let (session, servers, screen) = session();
    servers.hold("/instances/1.1.1.2");
    let (first, second) = interleave(session.open_patient("a"), || servers.seen("/instances/1.1.1.2") > 0, || session.open_study("1.2"));
    second.expect("the second study opens");
    first.expect("the first call resolves once its study is left");
    let updates = screen.0.borrow();
    let opened = updates.iter().rposition(|u| matches!(u, Update::StudyOpened(s) if s.study_uid == "1.2")).expect("opened");
    assert!(
        !updates[opened..].iter().any(|u| matches!(u, Update::StackFrame { instance_uid, .. } if instance_uid.starts_with("1.1."))),
        "nothing of study 1.1 after 1.2 opened"
    );
    assert!(servers.0.cancelled.borrow().iter().any(|u| u.contains("1.1.1.2")), "its requests were aborted");
}

#[test]
fn a_series_chosen_in_the_strip_replaces_the_stack_with_a_fresh_view() {
    let (session, servers, screen) = session();
    block_on(session.open_patient("a")).expect("opens");
    let requests = servers.seen("/instances/");
    block_on(session.open_series("1.1.1")).expect("the stack's own series");
    assert_eq!(servers.seen("/instances/"), requests, "choosing the series on screen does nothing");
    block_on(session.open_series("1.1.2")).expect("another series");
    let updates = screen.0.borrow();
    let started = updates
        .iter()
        .rposition(|u| matches!(u, Update::StackStarted { series_uid, fresh_view: true, .. } if series_uid == "1.1.2"))
        .expect("a fresh stack");
    assert!(matches!(&updates[started + 1..], [Update::StackTotal(1), ..]));
    assert!(updates[started..].iter().any(|u| matches!(u, Update::ShowFrame(0))), "its first frame is shown");
    drop(updates);
    assert!(matches!(session.open_series_blocking("9.9"), Err(SessionError::UnknownSeries(_))));
}

#[test]
fn a_presentation_state_opens_the_series_it_names_and_another_patients_blocks() {
    let mut w = world();
    w.studies[0].instances.push(presentation("1.1.8", A, "1.1.2", &["1.1.2.1"]));
    w.studies[0].instances.push(presentation("1.1.9", B, "1.1.2", &["1.1.2.1"]));
    let (session, _, screen) = session_with(w);
    block_on(session.open_patient("a")).expect("opens");
    block_on(session.apply_presentation_state("1.1.8")).expect("applied");
    {
        let updates = screen.0.borrow();
        let applied = updates
            .iter()
            .rposition(|u| matches!(u, Update::PresentationState(Some(s)) if s.series_uid == "1.1.8" && s.state.label == "TURNED"))
            .expect("the state goes to the screen");
        // Then the series it names comes into the viewport.
        assert!(updates[applied..].iter().any(|u| matches!(u, Update::StackStarted { series_uid, .. } if series_uid == "1.1.2")));
    }
    session.remove_presentation_state();
    assert!(matches!(screen.0.borrow().last(), Some(Update::PresentationState(None))));
    // An image series is no state; another patient's state blocks like an image.
    assert!(matches!(block_on(session.apply_presentation_state("1.1.1")), Err(SessionError::UnknownSeries(_))));
    assert!(matches!(block_on(session.apply_presentation_state("1.1.9")), Err(SessionError::WrongPatient(_))));
    assert!(matches!(screen.0.borrow().last(), Some(Update::Blocked(_))), "what is drawn goes");
}

#[test]
fn listing_fetched_studies_switches_to_their_patient() {
    let (session, _, screen) = session();
    assert_eq!(session.show_studies(&["1.1".into()]).map(|g| g.is_some()), Err(SessionError::NothingFetched));
    let studies = block_on(session.fetch_studies("a")).expect("fetched");
    assert_eq!(studies.len(), 2);
    assert_eq!(screen.0.borrow().len(), 0, "fetching does not touch the screen");
    assert_eq!(session.show_studies(&["9.9".into()]).map(|g| g.is_some()), Err(SessionError::StudyNotFetched("9.9".into())));
    let banner = session.show_studies(&["1.2".into()]).expect("listed").expect("a switch to a");
    assert!(matches!(screen.0.borrow()[0], Update::Cleared { patient_changed: true }));
    block_on(session.load_banner(&banner)).expect("banner");
    assert_eq!(session.patient().map(|p| p.id), Some("a".into()));
    block_on(session.open_study("1.2")).expect("the listed study opens");
    assert_eq!(images_since_clear(&screen).first().map(|(i, _)| i.as_str()), Some("1.2.1.1"));
}

#[test]
fn an_export_is_verified_and_does_not_touch_the_screen() {
    let mut w = world();
    w.studies[1].instances[0].header = (B.0.into(), B.1.into());
    let (session, _, screen) = session_with(w);
    assert!(matches!(block_on(session.export_image("1.1", "1.1.1", "1.1.1.1")), Err(SessionError::StudyNotKnown(_))));
    block_on(session.fetch_studies("a")).expect("fetched");
    let Ok(Export::Image(image)) = block_on(session.export_image("1.1", "1.1.1", "1.1.1.2")) else { panic!("an image") };
    assert_eq!(image.header.sop_instance_uid.as_deref(), Some("1.1.1.2"));
    assert!(matches!(block_on(session.export_image("1.2", "1.2.1", "1.2.1.1")), Err(SessionError::WrongPatient(_))));
    assert_eq!(screen.0.borrow().len(), 0);
}

#[test]
fn after_close_nothing_of_the_patient_comes_back() {
    let (session, servers, screen) = session();
    servers.hold("/fhir/Patient/a");
    let (a, _) = interleave(
        session.open_patient("a"),
        || servers.seen("/fhir/Patient/a") > 0,
        || async {
            session.close();
            servers.release("/fhir/Patient/a");
        },
    );
    assert_eq!(a, Err(SessionError::Superseded));
    assert!(matches!(screen.0.borrow().last(), Some(Update::Cleared { patient_changed: true })), "the clear is the last word");
    assert_eq!(session.patient_id(), None);
    assert!(matches!(block_on(session.open_study("1.1")), Err(SessionError::StudyNotLoaded(_))));
}

pub(crate) fn statuses(screen: &Recorder) -> Vec<Status> {
    screen.0.borrow().iter().filter_map(|u| if let Update::Status(s) = u { Some(s.clone()) } else { None }).collect()
}

#[test]
fn a_slow_fhir_server_is_named_once_the_patience_is_over() {
    let (session, servers, screen) = session();
    servers.hold("ImagingStudy?patient=a");
    let (a, _) = interleave(
        session.open_patient("a"),
        || servers.seen("ImagingStudy?patient=a") > 0,
        || async {
            servers.advance(Duration::from_millis(2900));
            turns(5).await;
            assert_eq!(statuses(&screen), [Status::Loading(Activity::Studies)], "not yet: the patience is three seconds");
            servers.advance(Duration::from_millis(100));
            until_true(|| statuses(&screen).contains(&Status::Waiting(Activity::Studies))).await;
            servers.release("ImagingStudy?patient=a");
        },
    );
    a.expect("the load goes on after the wait");
    let seen = statuses(&screen);
    assert_eq!(seen[..2], [Status::Loading(Activity::Studies), Status::Waiting(Activity::Studies)]);
    assert_eq!(seen.last(), Some(&Status::Idle), "then the usual course: {seen:?}");
    assert_eq!(count(&screen, |u| matches!(u, Update::Image(_))), 1);
}

#[test]
fn a_slow_image_server_is_named_and_a_fast_load_names_none() {
    let (session, servers, screen) = session();
    block_on(session.open_patient("b")).expect("opens");
    assert!(!statuses(&screen).iter().any(|s| matches!(s, Status::Waiting(_))), "answered at once: no waiting");
    servers.hold("/instances/1.1.1.1");
    let (a, _) = interleave(
        session.open_patient("a"),
        || servers.seen("/instances/1.1.1.1") > 0,
        || async {
            servers.advance(Duration::from_secs(3));
            until_true(|| statuses(&screen).contains(&Status::Waiting(Activity::Image))).await;
            servers.release("/instances/1.1.1.1");
        },
    );
    a.expect("opens once the image arrives");
    assert!(!statuses(&screen).contains(&Status::Waiting(Activity::Studies)), "the FHIR server answered in time");
}

#[test]
fn a_wait_for_a_patient_who_was_left_is_not_shown() {
    let (session, servers, screen) = session();
    servers.hold("ImagingStudy?patient=a");
    let (a, _) = interleave(
        session.open_patient("a"),
        || servers.seen("ImagingStudy?patient=a") > 0,
        || async {
            session.close();
            servers.advance(Duration::from_secs(5));
            turns(5).await;
            servers.release("ImagingStudy?patient=a");
        },
    );
    assert_eq!(a, Err(SessionError::Superseded));
    assert!(!statuses(&screen).iter().any(|s| matches!(s, Status::Waiting(_))));
}

#[test]
fn a_foreign_next_page_keeps_the_list_and_reports_the_refusal_last() {
    let w = World { next_page: Some("http://elsewhere.test/fhir/ImagingStudy?page=2".into()), ..world() };
    let (session, servers, screen) = session_with(w);
    block_on(session.open_patient("a")).expect("the pages read are shown");
    assert_eq!(servers.seen("elsewhere.test"), 0, "the foreign page was never asked for");
    let lists = count(&screen, |u| matches!(u, Update::Studies(s) if s.len() == 2));
    assert_eq!(lists, 1, "the first page's two studies are listed");
    assert_eq!(count(&screen, |u| matches!(u, Update::Image(_))), 1, "and the newest is open");
    let failures = screen.1.borrow();
    let [(at, SessionError::Bridge(BridgeError::Fhir(crate::fhir::FhirError::ForeignPage { url })))] = failures.as_slice() else {
        panic!("one foreign-page report: {failures:?}")
    };
    assert!(url.contains("elsewhere.test"), "the error names the link: {url}");
    assert_eq!(*at, screen.0.borrow().len(), "reported after everything else, so the status line ends on it");
    drop(failures);
    let fetched = block_on(session.fetch_studies("a")).expect("fetch keeps the pages read too");
    assert_eq!(fetched.len(), 2);
    assert_eq!(screen.1.borrow().len(), 2, "and reports the refusal again");
}

/// A persistent tier in memory that outlives the sessions using it (an IndexedDB partition).
#[derive(Default)]
struct KeptTier(RefCell<std::collections::HashMap<String, Vec<u8>>>);

impl crate::cache::PersistentTier for KeptTier {
    fn get<'a>(&'a self, key: &'a str) -> crate::cache::LocalFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move { self.0.borrow().get(key).cloned() })
    }
    fn put<'a>(&'a self, key: &'a str, bytes: &'a [u8]) -> crate::cache::LocalFuture<'a, ()> {
        Box::pin(async move {
            self.0.borrow_mut().insert(key.to_string(), bytes.to_vec());
        })
    }
    fn clear(&self) -> crate::cache::LocalFuture<'_, ()> {
        Box::pin(async move { self.0.borrow_mut().clear() })
    }
}

#[test]
fn an_export_and_the_viewer_share_one_cache() {
    let servers = HeldServers(Rc::new(world()));
    let tier = Rc::new(KeptTier::default());
    let fresh = || {
        let config = BridgeConfig::new(url::Url::parse(FHIR).expect("test URL"));
        let bridge = ImagingBridge::new(servers.clone(), &config);
        bridge.set_persistent(Some(tier.clone()));
        Session::new(bridge, SessionConfig::default(), Rc::new(Recorder::default()))
    };
    let retrieves = || servers.0.seen.borrow().iter().filter(|u| u.ends_with("/instances/1.1.1.2")).count();
    // An export alone (no viewer) stores the instance it fetched.
    let exporter = fresh();
    block_on(exporter.fetch_studies("a")).expect("fetched");
    assert!(matches!(block_on(exporter.export_image("1.1", "1.1.1", "1.1.1.2")), Ok(Export::Image(_))));
    assert_eq!(retrieves(), 1);
    assert!(tier.0.borrow().keys().any(|k| k.contains(":1.1.1.2:")), "written to the persistent tier");
    // A later viewer (another page load: empty memory) reads it from there.
    let viewer = fresh();
    block_on(viewer.open_patient("a")).expect("opens");
    assert_eq!(retrieves(), 1, "the viewer used what the export stored");
    // And an export after the viewer fetches no instance again (the server is still asked
    // whether it renders: this one does not).
    let before = servers.seen("/instances/1.1.1.3");
    assert!(matches!(block_on(viewer.export_image("1.1", "1.1.1", "1.1.1.3")), Ok(Export::Image(_))));
    let asked: Vec<String> = servers.0.seen.borrow().iter().filter(|u| u.contains("/instances/1.1.1.3")).skip(before).cloned().collect();
    assert!(asked.iter().all(|u| u.ends_with("/metadata")), "only the rendering question: {asked:?}");
}

impl TestSession {
    fn open_series_blocking(&self, uid: &str) -> Result<(), SessionError> {
        block_on(self.open_series(uid))
    }
}

/// The studies a screen was last given, in order.
pub(crate) fn listed(screen: &Recorder) -> Vec<String> {
    screen
        .0
        .borrow()
        .iter()
        .rev()
        .find_map(|u| match u {
            Update::Studies(list) => Some(list.iter().map(|s| s.study_uid.clone()).collect()),
            _ => None,
        })
        .unwrap_or_default()
}

fn shown_instances(screen: &Recorder) -> Vec<String> {
    screen
        .0
        .borrow()
        .iter()
        .filter_map(|u| match u {
            Update::Image(shown) => Some(shown.instance_uid.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_launch_by_study_uid_opens_that_study_of_its_patient_and_lists_the_others() {
    let (session, _servers, screen) = session();
    block_on(session.open_target(&Target::Studies { uids: vec!["1.2".into(), "1.1".into()], patient: None })).expect("opens");
    assert_eq!(session.patient_id().as_deref(), Some("a"), "the studies' subject is the patient in context");
    assert_eq!(listed(&screen), ["1.2", "1.1"], "in the order asked, the first opened");
    assert_eq!(shown_instances(&screen).first().map(String::as_str), Some("1.2.1.1"));
}

#[test]
fn a_launch_by_accession_number_finds_the_study() {
    let (session, _servers, screen) = session();
    block_on(session.open_target(&Target::Accessions { numbers: vec!["ACC-2.1".into()], patient: None })).expect("opens");
    assert_eq!(session.patient_id().as_deref(), Some("b"));
    assert_eq!(listed(&screen), ["2.1"]);
}

#[test]
fn a_launch_by_study_reference_opens_that_study_and_checks_its_patient() {
    let (session, _servers, screen) = session();
    block_on(session.open_target(&Target::StudyIds { ids: vec!["fhir-1.2".into()], patient: Some("a".into()) })).expect("opens");
    assert_eq!(listed(&screen), ["1.2"]);
    assert_eq!(shown_instances(&screen).first().map(String::as_str), Some("1.2.1.1"));
    let other = block_on(session.open_target(&Target::StudyIds { ids: vec!["fhir-2.1".into()], patient: Some("a".into()) }));
    assert_eq!(other, Err(SessionError::StudyOfAnotherPatient { study: "2.1".into(), patient: "a".into() }));
    let unknown = block_on(session.open_target(&Target::StudyIds { ids: vec!["nope".into()], patient: None }));
    assert_eq!(unknown, Err(SessionError::StudyNotFound("nope".into())));
}

#[test]
fn studies_of_two_patients_or_of_another_patient_show_nothing() {
    let (session, _servers, screen) = session();
    let two = block_on(session.open_target(&Target::Studies { uids: vec!["1.1".into(), "2.1".into()], patient: None }));
    assert_eq!(two, Err(SessionError::StudiesOfSeveralPatients));
    let other = block_on(session.open_target(&Target::Studies { uids: vec!["2.1".into()], patient: Some("a".into()) }));
    assert_eq!(other, Err(SessionError::StudyOfAnotherPatient { study: "2.1".into(), patient: "a".into() }));
    assert!(shown_instances(&screen).is_empty(), "no image of either");
    assert!(listed(&screen).is_empty());
    let unknown = block_on(session.open_target(&Target::Studies { uids: vec!["9.9".into()], patient: None }));
    assert_eq!(unknown, Err(SessionError::StudyNotFound("9.9".into())));
    assert_eq!(screen.1.borrow().len(), 3, "each reported to the screen");
}

#[test]
fn a_launch_by_patient_identifier_applies_the_filters() {
    let (session, _servers, screen) = session();
    let target = Target::PatientByIdentifier { identifier: "urn:mrn|MRN-A".into(), filter: StudyFilter::default(), most_recent: Some(1) };
    block_on(session.open_target(&target)).expect("opens");
    assert_eq!(session.patient_id().as_deref(), Some("a"));
    assert_eq!(listed(&screen), ["1.1"], "only the most recent");
    let older = StudyFilter { started_to: Some("2025-12-31".into()), ..StudyFilter::default() };
    block_on(session.open_target(&Target::PatientByIdentifier { identifier: "urn:mrn|MRN-A".into(), filter: older, most_recent: None }))
        .expect("opens");
    assert_eq!(listed(&screen), ["1.2"], "upperDateTime keeps the older study only");
    let none = block_on(session.open_target(&Target::PatientByIdentifier {
        identifier: "urn:mrn|X".into(),
        filter: StudyFilter::default(),
        most_recent: None,
    }));
    assert_eq!(none, Err(SessionError::NoPatientWithIdentifier("urn:mrn|X".into())));
    let two = block_on(session.open_target(&Target::PatientByIdentifier {
        identifier: "urn:mrn|DUP".into(),
        filter: StudyFilter::default(),
        most_recent: None,
    }));
    assert_eq!(two, Err(SessionError::SeveralPatientsWithIdentifier("urn:mrn|DUP".into())));
    assert_eq!(session.patient_id(), None, "an ambiguous identifier leaves no patient in context");
}

#[test]
fn a_launch_clears_the_previous_patient_before_it_asks_anything() {
    let (session, servers, screen) = session();
    block_on(session.open_patient("b")).expect("opens");
    servers.hold("identifier=");
    let target = Target::Studies { uids: vec!["1.1".into()], patient: None };
    let pending = session.open_target(&target);
    let (result, ()) = interleave(
        pending,
        || servers.seen("identifier=") > 0,
        || async {
            assert_eq!(session.patient_id(), None, "b is gone while the study is looked up");
            assert!(matches!(
                screen.0.borrow().iter().rev().find(|u| matches!(u, Update::Cleared { .. })),
                Some(Update::Cleared { patient_changed: true })
            ));
            servers.release("identifier=");
        },
    );
    result.expect("opens");
    assert_eq!(session.patient_id().as_deref(), Some("a"));
}

#[test]
fn a_newer_open_supersedes_a_launch_still_looking_up_its_study() {
    let (session, servers, screen) = session();
    servers.hold("identifier=");
    let target = Target::Studies { uids: vec!["1.1".into()], patient: None };
    let launch = session.open_target(&target);
    let (first, second) = interleave(
        launch,
        || servers.seen("identifier=") > 0,
        || async {
            let newer = session.open_patient("b").await;
            servers.release("identifier=");
            newer
        },
    );
    assert_eq!(first, Err(SessionError::Superseded));
    second.expect("b opens");
    assert_eq!(session.patient_id().as_deref(), Some("b"));
    assert!(shown_instances(&screen).iter().all(|i| i.starts_with("2.")), "nothing of a was drawn");
}

#[test]
fn a_study_opened_right_after_its_list_is_shown_reads_the_patient_first() {
    let (session, _servers, screen) = session();
    block_on(session.fetch_studies("a")).expect("fetched");
    // The host shows the list and opens a study at once, before the banner's read.
    let banner = session.show_studies(&["1.1".to_string()]).expect("listed");
    assert!(banner.is_some(), "a switch: the banner is still to read");
    block_on(session.open_study("1.1")).expect("opens without waiting for the banner");
    assert_eq!(shown_instances(&screen).first().map(String::as_str), Some("1.1.1.1"));
    assert_eq!(session.patient().map(|p| p.id).as_deref(), Some("a"));
}

#[test]
fn a_refreshed_list_keeps_the_open_study_and_announces_only_new_studies() {
    let (session, _, screen) = session();
    block_on(session.open_patient("a")).expect("opens");
    block_on(session.open_study("1.2")).expect("opens the older study");
    let before = screen.0.borrow().len();
    assert_eq!(block_on(session.refresh_studies()), Ok(vec![]), "nothing new");
    let after: Vec<Update> = screen.0.borrow()[before..].to_vec();
    assert!(matches!(after.as_slice(), [Update::Studies(list)] if list.len() == 2), "only the list: {after:?}");
    assert_eq!(session.selected_study_uid().as_deref(), Some("1.2"));
    session.close();
    assert_eq!(block_on(session.refresh_studies()), Err(SessionError::NoPatient));
}

/// Patient a's study 1.1 with a KO series numbered first: a selection of 1.1.1.3 and 1.1.2.1,
/// and a rejection note withdrawing 1.1.2.1.
fn world_with_key_images(header: (&str, &str)) -> World {
    let mut world = world();
    let keys = [("1.1.1", "1.1.1.3"), ("1.1.2", "1.1.2.1")];
    world.studies[0]
        .instances
        .splice(0..0, [selection("1.1.0", "1.1.0.1", header, false, &keys), selection("1.1.0", "1.1.0.2", header, true, &keys[1..])]);
    world
}

fn strip(screen: &Recorder) -> Vec<(String, Option<u32>)> {
    screen
        .0
        .borrow()
        .iter()
        .rev()
        .find_map(|u| match u {
            Update::Series(items) => Some(items.iter().map(|i| (i.uid.clone(), i.count)).collect()),
            _ => None,
        })
        .unwrap_or_default()
}

#[test]
fn key_images_only_shows_what_the_selections_name_and_nothing_they_reject() {
    let config = SessionConfig { key_images_only: true, ..SessionConfig::default() };
    let (session, _servers, screen) = session_configured(world_with_key_images(A), config);
    block_on(session.open_patient("a")).expect("opens");
    assert_eq!(shown_instances(&screen), ["1.1.1.3"]);
    assert_eq!(strip(&screen), [("1.1.1".to_string(), Some(1))], "the rejected 1.1.2.1 and the KO series are not shown");
    let stacked: Vec<String> = screen
        .0
        .borrow()
        .iter()
        .filter_map(|u| match u {
            Update::StackFrame { instance_uid, .. } => Some(instance_uid.clone()),
            Update::Thumbnail { series_uid, .. } => Some(series_uid.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(stacked, ["1.1.1.3", "1.1.1"], "a stack of the one key image and its series' thumbnail");
    // The strip's series stays narrowed when chosen again.
    block_on(session.open_series("1.1.1")).expect("same series");
    // A study without a selection says so and shows nothing.
    let before = shown_instances(&screen).len();
    assert_eq!(block_on(session.open_study("1.2")), Err(SessionError::NoKeyImages("1.2".into())));
    assert_eq!(shown_instances(&screen).len(), before);
    assert!(matches!(screen.1.borrow().last(), Some((_, SessionError::NoKeyImages(_)))), "reported");
}

#[test]
fn another_patients_selection_blocks_and_chooses_nothing() {
    let config = SessionConfig { key_images_only: true, ..SessionConfig::default() };
    let (session, _servers, screen) = session_configured(world_with_key_images(B), config);
    let result = block_on(session.open_patient("a"));
    assert!(matches!(result, Err(SessionError::WrongPatient(_))), "{result:?}");
    assert!(shown_instances(&screen).is_empty());
    assert!(screen.0.borrow().iter().any(|u| matches!(u, Update::Blocked(_))));
}

fn key_marks(screen: &Recorder) -> Vec<KeyImages> {
    screen
        .0
        .borrow()
        .iter()
        .filter_map(|u| match u {
            Update::KeyImages(keys) => Some(keys.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_ko_series_is_never_opened_as_images_but_listed_and_its_key_images_marked() {
    let (session, _servers, screen) = session_with(world_with_key_images(A));
    block_on(session.open_patient("a")).expect("opens");
    assert_eq!(shown_instances(&screen), ["1.1.1.1"], "the first image series, not the KO series numbered before it");
    assert_eq!(strip(&screen), [("1.1.1".to_string(), Some(3)), ("1.1.2".to_string(), Some(1)), ("1.1.0".to_string(), Some(2))]);
    let kinds: Vec<SeriesKind> = screen
        .0
        .borrow()
        .iter()
        .rev()
        .find_map(|u| match u {
            Update::Series(items) => Some(items.iter().map(|i| i.kind).collect()),
            _ => None,
        })
        .unwrap_or_default();
    assert_eq!(kinds, [SeriesKind::Images, SeriesKind::Images, SeriesKind::KeyObjects], "the document series last, for what it is");
    assert_eq!(key_marks(&screen), [vec![("1.1.1".to_string(), "1.1.1.3".to_string())]], "1.1.2.1 is rejected");
    // The user's toggle opens the study again as its key images, and back.
    block_on(session.set_key_images_only(true)).expect("key images");
    assert_eq!(shown_instances(&screen).last().map(String::as_str), Some("1.1.1.3"));
    assert_eq!(strip(&screen), [("1.1.1".to_string(), Some(1))]);
    assert!(screen.0.borrow().iter().any(|u| matches!(u, Update::KeyImagesOnly(true))));
    block_on(session.set_key_images_only(false)).expect("all images");
    assert_eq!(shown_instances(&screen).last().map(String::as_str), Some("1.1.1.1"));
    assert_eq!(key_marks(&screen).len(), 3, "marked each time the study opened");
}

/// An R5 ImagingSelection of series 1.1.1 of study 1.1 about `patient`, naming `sops`.
fn imaging_selection(patient: &str, status: &str, sops: &[&str]) -> serde_json::Value {
    let instances: Vec<serde_json::Value> = sops.iter().map(|sop| serde_json::json!({"uid": sop})).collect();
    serde_json::json!({"resourceType": "ImagingSelection", "id": format!("sel-{patient}-{}", sops.join("-")), "status": status,
        "subject": {"reference": format!("Patient/{patient}")}, "code": {"text": "Key Images"},
        "studyUid": "1.1", "seriesUid": "1.1.1", "instance": instances})
}

#[test]
fn an_r5_servers_imaging_selection_names_key_images_as_a_kos_does() {
    // Patient a's selection of 1.1.1.2 counts; one entered in error does not, and neither does a
    // selection whose subject is patient b even if the server returned it for a.
    let mut other = imaging_selection("b", "available", &["1.1.1.3"]);
    other["subject"]["reference"] = serde_json::json!("Patient/b-of-a");
    let world = World {
        selections: Some(vec![
            imaging_selection("a", "available", &["1.1.1.2"]),
            imaging_selection("a", "entered-in-error", &["1.1.1.1"]),
            other,
        ]),
        ..world()
    };
    let config = SessionConfig { key_images_only: true, ..SessionConfig::default() };
    let (session, servers, screen) = session_configured(world, config);
    block_on(session.open_patient("a")).expect("opens");
    assert_eq!(shown_instances(&screen), ["1.1.1.2"]);
    assert_eq!(strip(&screen), [("1.1.1".to_string(), Some(1))]);
    // The CapabilityStatement is read once; each study's selections are searched.
    assert_eq!(block_on(session.open_study("1.2")), Err(SessionError::NoKeyImages("1.2".into())));
    assert_eq!((servers.seen("/fhir/metadata"), servers.seen("/fhir/ImagingSelection?")), (1, 2));
}

#[test]
fn an_r4_server_without_imaging_selection_is_never_searched_and_a_failing_search_is_quiet() {
    // R4 (the CapabilityStatement lists no ImagingSelection): the KOS alone chooses.
    let config = || SessionConfig { key_images_only: true, ..SessionConfig::default() };
    let (session, servers, screen) = session_configured(world_with_key_images(A), config());
    block_on(session.open_patient("a")).expect("opens");
    assert_eq!(shown_instances(&screen), ["1.1.1.3"]);
    assert_eq!((servers.seen("/fhir/metadata"), servers.seen("/fhir/ImagingSelection")), (1, 0));
    // Listed but failing: the same key images, and no error reported.
    let world = World { selections: Some(Vec::new()), selections_fail: true, ..world_with_key_images(A) };
    let (session, servers, screen) = session_configured(world, config());
    block_on(session.open_patient("a")).expect("opens");
    assert_eq!(shown_instances(&screen), ["1.1.1.3"]);
    assert_eq!(servers.seen("/fhir/ImagingSelection"), 1);
    assert!(screen.1.borrow().is_empty(), "nothing reported: {:?}", screen.1.borrow());
}

mod audit;
mod streamed;
mod uploaded;
mod workers;

/// The (instance, patient) of every frame sent to the comparison's viewport.
fn compared_frames(screen: &Recorder) -> Vec<(String, String)> {
    screen
        .0
        .borrow()
        .iter()
        .filter_map(|u| match u {
            Update::Comparison(Comparison::Frame { instance_uid, image, .. }) => Some((instance_uid.clone(), image.patient().id.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_prior_is_stacked_beside_the_open_study_verified_and_a_switch_clears_it() {
    let (session, _, screen) = session();
    block_on(session.open_patient("a")).expect("opens");
    block_on(session.compare("1.2")).expect("compares");
    assert_eq!(session.compared_study_uid().as_deref(), Some("1.2"));
    let opened = count(&screen, |u| matches!(u, Update::Comparison(Comparison::Opened(s)) if s.study_uid == "1.2"));
    let stacked =
        count(&screen, |u| matches!(u, Update::Comparison(Comparison::Stack { series_uid, total: 1, .. }) if series_uid == "1.2.1"));
    assert_eq!((opened, stacked), (1, 1));
    assert_eq!(compared_frames(&screen), [("1.2.1.1".to_string(), "a".to_string())], "verified for the patient in context");
    // The open study's viewport is untouched by it.
    assert_eq!(session.selected_study_uid().as_deref(), Some("1.1"));
    let _ = session.switch_patient("b");
    assert!(matches!(screen.0.borrow().last(), Some(Update::Cleared { patient_changed: true })), "both viewports clear at once");
    assert_eq!(session.compared_study_uid(), None);
}

#[test]
fn only_a_comparable_listed_study_is_compared() {
    let (session, _, screen) = session();
    block_on(session.open_patient("a")).expect("opens");
    assert_eq!(block_on(session.compare("1.1")), Err(SessionError::NotComparable("1.1".into())), "never the study itself");
    assert_eq!(block_on(session.compare("2.1")), Err(SessionError::StudyNotLoaded("2.1".into())), "another patient's is not listed");
    assert_eq!(count(&screen, |u| matches!(u, Update::Comparison(_))), 0);
    assert_eq!(session.compared_study_uid(), None);
}

#[test]
fn a_prior_of_another_patient_blocks_both_viewports() {
    let mut world = world();
    world.studies[1].instances = vec![instance("1.2.1", "1.2.1.1", B)];
    let (session, _, screen) = session_with(world);
    block_on(session.open_patient("a")).expect("opens");
    let result = block_on(session.compare("1.2"));
    assert!(matches!(result, Err(SessionError::WrongPatient(_))), "{result:?}");
    assert_eq!(count(&screen, |u| matches!(u, Update::Blocked(_))), 1);
    assert!(compared_frames(&screen).is_empty(), "nothing of it reaches the screen");
    assert_eq!(session.compared_study_uid(), None);
}

#[test]
fn another_study_ends_the_comparison_and_another_series_leaves_it() {
    let (session, _, screen) = session();
    block_on(session.open_patient("a")).expect("opens");
    block_on(session.compare("1.2")).expect("compares");
    block_on(session.open_series("1.1.2")).expect("another series");
    assert_eq!(session.compared_study_uid().as_deref(), Some("1.2"));
    session.close_comparison();
    assert!(matches!(screen.0.borrow().last(), Some(Update::Comparison(Comparison::Closed))));
    assert_eq!(session.compared_study_uid(), None);
    block_on(session.compare("1.2")).expect("compares again");
    block_on(session.open_study("1.2")).expect("opens the prior");
    assert_eq!(session.compared_study_uid(), None, "a study opened ends it");
}

#[test]
fn a_prior_answer_after_the_comparison_closed_is_dropped() {
    let (session, servers, screen) = session();
    block_on(session.open_patient("a")).expect("opens");
    servers.hold("/instances/1.2.1.1");
    let (compared, ()) = interleave(
        session.compare("1.2"),
        || servers.seen("/instances/1.2.1.1") > 0,
        || async {
            session.close_comparison();
            servers.release("/instances/1.2.1.1");
        },
    );
    assert_eq!(compared, Ok(()), "superseded quietly");
    assert!(compared_frames(&screen).is_empty());
    assert!(servers.0.cancelled.borrow().iter().any(|u| u.contains("1.2.1.1")), "its request was aborted");
}

#[test]
fn every_image_series_reports_its_progress_and_is_loaded_once() {
    let (session, servers, screen) = session();
    block_on(session.open_patient("a")).expect("opens");
    let loaded: Vec<(String, usize, bool)> = screen
        .0
        .borrow()
        .iter()
        .filter_map(|u| match u {
            Update::SeriesLoaded { study_uid, series_uid, instances, bytes, ms } => {
                assert_eq!(study_uid, "1.1");
                Some((series_uid.clone(), *instances, *bytes > 0 && *ms >= 0.0))
            }
            _ => None,
        })
        .collect();
    assert_eq!(loaded, [("1.1.1".into(), 3, true), ("1.1.2".into(), 1, true)], "the stack, then the series fetched ahead");
    let progress_of = |uid: &str| {
        screen
            .0
            .borrow()
            .iter()
            .filter_map(|u| match u {
                Update::SeriesProgress { series_uid, loaded, total } if series_uid == uid => Some((*loaded, *total)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(progress_of("1.1.1"), [(0, 3), (1, 3), (2, 3), (3, 3)]);
    // Its one instance was cached by its thumbnail: it starts complete.
    assert_eq!(progress_of("1.1.2"), [(1, 1)], "the series not open has its progress too");
    let requests = servers.seen("/instances/");
    block_on(session.open_series("1.1.2")).expect("the series fetched ahead");
    assert_eq!(servers.seen("/instances/"), requests, "it was in the cache");
}
